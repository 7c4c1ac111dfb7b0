"""Knowledge-base rules (R19): units write and retire their own entries, the hotline office approves
what operators see, every change is a numbered revision with who and when; an entry is cited only
while published and valid.

Pure: no I/O, no clock reads. Every decision is `rule(entry, cmd, *, now, actor, ...) -> (entry after
it, events)`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal, cast

from hotline_common.actors import ADMIN, CITY_ROLES, OPERATOR, UNIT_ROLES, Actor
from hotline_common.errors import Conflict, Forbidden, NotFound, RuleViolation, ValidationFailed
from hotline_common.messages import ActorRef, Event, Instant, Role
from hotline_common.timeutil import iso

from ..events import KnowledgePublished, KnowledgeRejected, KnowledgeRetired, KnowledgeSubmitted

if TYPE_CHECKING:
    from .commands import ApproveEntry, CreateEntry, EntryContent, RetireEntry, UpdateEntry

EntryStatus = Literal["draft", "published", "retired"]
RevisionAction = Literal["seeded", "created", "updated", "approved", "rejected", "retired"]
MIN_REASON_CHARS = 4
MIN_ANSWER_CHARS = 10


@dataclass(frozen=True, kw_only=True)
class Content:
    """What an entry says: the answer an operator reads out, its basis and when it holds."""
    title: str
    answer: str
    category: str
    source: str
    valid_from: date | None = None
    valid_until: date | None = None
    review_date: date
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Revision:
    """One numbered change: who, when, what (the content it proposed or published), and a note."""
    n: int
    action: RevisionAction
    at: datetime
    by: dict[str, Any]
    content: Content | None = None
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class Entry:
    """A knowledge-base entry. `current` is what operators see (None until first approved); `pending`
    a change waiting for the hotline office. `version` is the store's (0 until stored)."""
    id: str
    unit_id: str
    current: Content | None = None
    pending: Content | None = None
    retired: bool = False
    published_revision: int | None = None
    revisions: tuple[Revision, ...] = ()
    example: bool = False
    created_at: datetime
    updated_at: datetime
    version: int = 0

    @property
    def status(self) -> EntryStatus:
        if self.retired:
            return "retired"
        return "draft" if self.current is None else "published"

    @property
    def revision(self) -> int:
        return len(self.revisions)

    @property
    def category(self) -> str:
        content = self.current or self.pending
        assert content is not None  # an entry is created with its content
        return content.category


# -- who may do what ---------------------------------------------------------------------------------

def require_owner(entry: Entry, actor: Actor) -> None:
    """The owning unit's people (or an administrator) maintain an entry; another unit may not."""
    if actor.role == ADMIN:
        return
    if actor.role not in UNIT_ROLES:
        raise Forbidden("only the unit that owns the entry maintains it (R19)")
    if actor.unit_id != entry.unit_id:
        raise Forbidden(f"entry {entry.id} belongs to unit {entry.unit_id}; a unit maintains only its own entries")


def can_see(entry: Entry, actor: Actor) -> bool:
    """Published entries: everyone who works tickets. Drafts, pending changes and retired entries: the
    owning unit and the city's roles (the hotline office approves them)."""
    if actor.role in CITY_ROLES or (actor.is_unit and actor.unit_id == entry.unit_id):
        return True
    return actor.is_unit and entry.status == "published"


def may_search(actor: Actor) -> None:
    actor.require(*CITY_ROLES, *UNIT_ROLES)


# -- checks on what an entry says -----------------------------------------------------------------------

def check_content(content: Content, *, categories: dict[str, Any]) -> Content:
    """Trimmed content, or ValidationFailed naming every field that is wrong."""
    content = replace(content, title=content.title.strip(), answer=content.answer.strip(),
                      source=content.source.strip(),
                      keywords=tuple(dict.fromkeys(k.strip() for k in content.keywords if k.strip())))
    errors: dict[str, list[str]] = {}
    if len(content.title) < 4:
        errors["title"] = ["a title of at least 4 characters"]
    if len(content.answer) < MIN_ANSWER_CHARS:
        errors["answer"] = [f"the answer an operator reads out, at least {MIN_ANSWER_CHARS} characters"]
    if content.category not in categories:
        errors["category"] = [f"unknown category {content.category}"]
    if len(content.source) < 4:
        errors["source"] = ["the source or legal basis (政策依据), at least 4 characters"]
    if content.valid_from and content.valid_until and content.valid_until < content.valid_from:
        errors["valid_until"] = ["not before valid_from"]
    if errors:
        raise ValidationFailed("the entry is incomplete", errors=errors)
    return content


def flags(content: Content, today: date) -> dict[str, bool]:
    """What an operator must be warned of: expired, not yet valid, its review date passed (unreviewed)."""
    return {"expired": content.valid_until is not None and content.valid_until < today,
            "not_yet_valid": content.valid_from is not None and content.valid_from > today,
            "review_overdue": content.review_date < today}


def valid_on(content: Content, day: date) -> bool:
    return (content.valid_from is None or content.valid_from <= day) and \
        (content.valid_until is None or content.valid_until >= day)


def citable(entry: Entry | None, today: date, entry_id: str) -> Content:
    """The content a direct answer may cite: a published entry valid today (RuleViolation otherwise)."""
    if entry is None:
        raise NotFound(f"knowledge-base entry {entry_id} not found")
    if entry.retired:
        raise RuleViolation(f"entry {entry.id} is retired; cite a current one",
                            {"errors": {"knowledge_entry_id": ["the entry is retired"]}})
    if entry.current is None:
        raise RuleViolation(f"entry {entry.id} is not published yet (awaiting the hotline office's approval)",
                            {"errors": {"knowledge_entry_id": ["the entry is not published yet"]}})
    if not valid_on(entry.current, today):
        state = "expired" if entry.current.valid_until and entry.current.valid_until < today else "not yet valid"
        raise RuleViolation(f"entry {entry.id} is {state} ({entry.current.valid_from or '…'} – "
                            f"{entry.current.valid_until or '…'}); a direct answer cites only a valid entry",
                            {"errors": {"knowledge_entry_id": [f"the entry is {state}"]}})
    return entry.current


# -- the decisions --------------------------------------------------------------------------------------

def create(entry: Entry | None, cmd: CreateEntry, *, now: datetime, actor: Actor, new_id: str,
           categories: dict[str, Any], units: set[str]) -> tuple[Entry, list[Event]]:
    """A unit writes a new entry for itself (an administrator for any unit); it waits for approval."""
    if actor.is_unit:
        unit_id = actor.unit_id
        if cmd.unit_id not in (None, unit_id):
            raise Forbidden("a unit writes entries for itself only")
    elif actor.role == ADMIN:
        unit_id = cmd.unit_id
        if not unit_id:
            raise ValidationFailed("which unit owns the entry?", errors={"unit_id": ["required for an administrator"]})
    else:
        raise Forbidden("units write their entries; the hotline office approves them (R19)")
    assert unit_id is not None
    if unit_id not in units:
        raise ValidationFailed("unknown unit", errors={"unit_id": [f"no unit {unit_id}"]})
    if entry is not None:
        raise Conflict(f"entry {entry.id} exists already")
    content = check_content(_content(cmd.content), categories=categories)
    created = Entry(id=new_id, unit_id=unit_id, pending=content, created_at=now, updated_at=now,
                    revisions=(Revision(n=1, action="created", at=now, by=actor.to_dict(), content=content),))
    return created, [_event(KnowledgeSubmitted, created, now, actor, change="created")]


def update(entry: Entry, cmd: UpdateEntry, *, now: datetime, actor: Actor,
           categories: dict[str, Any]) -> tuple[Entry, list[Event]]:
    """The owning unit changes its entry: the change waits for approval, the published text stays
    what operators see until then. A second change before the approval replaces the first."""
    require_owner(entry, actor)
    if entry.retired:
        raise Conflict(f"entry {entry.id} is retired")
    content = check_content(_content(cmd.content), categories=categories)
    if content == entry.pending or (entry.pending is None and content == entry.current):
        raise Conflict("nothing changed")
    revision = Revision(n=entry.revision + 1, action="updated", at=now, by=actor.to_dict(), content=content,
                        note=cmd.note.strip())
    after = replace(entry, pending=content, revisions=(*entry.revisions, revision), updated_at=now)
    return after, [_event(KnowledgeSubmitted, after, now, actor, change="updated")]


def approve(entry: Entry, cmd: ApproveEntry, *, now: datetime, actor: Actor) -> tuple[Entry, list[Event]]:
    """The hotline office publishes the waiting change, or sends it back with a note."""
    actor.require(OPERATOR, ADMIN)
    if entry.retired:
        raise Conflict(f"entry {entry.id} is retired")
    if entry.pending is None:
        raise Conflict(f"entry {entry.id} has no change waiting for approval")
    note = cmd.note.strip()
    n = entry.revision + 1
    if not cmd.approve:
        if len(note) < MIN_REASON_CHARS:
            raise ValidationFailed("a rejection needs its note", errors={"note": [
                f"what the unit must change, at least {MIN_REASON_CHARS} characters"]})
        after = replace(entry, pending=None, updated_at=now, revisions=(
            *entry.revisions, Revision(n=n, action="rejected", at=now, by=actor.to_dict(), note=note)))
        return after, [_event(KnowledgeRejected, after, now, actor, note=note)]
    first = entry.current is None
    after = replace(entry, current=entry.pending, pending=None, published_revision=n, updated_at=now,
                    revisions=(*entry.revisions, Revision(n=n, action="approved", at=now, by=actor.to_dict(),
                                                          content=entry.pending, note=note)))
    return after, [_event(KnowledgePublished, after, now, actor, first=first)]


def retire(entry: Entry, cmd: RetireEntry, *, now: datetime, actor: Actor) -> tuple[Entry, list[Event]]:
    """The owning unit (or an administrator) retires an entry at once: no approval to wait for."""
    require_owner(entry, actor)
    if entry.retired:
        raise Conflict(f"entry {entry.id} is retired already")
    reason = cmd.reason.strip()
    if len(reason) < MIN_REASON_CHARS:
        raise ValidationFailed("retiring needs a reason", errors={"reason": [
            f"why the entry no longer holds, at least {MIN_REASON_CHARS} characters"]})
    after = replace(entry, retired=True, pending=None if entry.current else entry.pending, updated_at=now, revisions=(
        *entry.revisions, Revision(n=entry.revision + 1, action="retired", at=now, by=actor.to_dict(), note=reason)))
    return after, [_event(KnowledgeRetired, after, now, actor, reason=reason)]


def seeded(entry_id: str, unit_id: str, content: Content, *, now: datetime, example: bool) -> Entry:
    """An entry shipped in config/knowledge-base.yaml: published as it is loaded (revision 1)."""
    return Entry(id=entry_id, unit_id=unit_id, current=content, published_revision=1, example=example,
                 created_at=now, updated_at=now,
                 revisions=(Revision(n=1, action="seeded", at=now, by={"user_id": "system", "role": "system",
                                                                        "unit_id": None}, content=content,
                                     note="config/knowledge-base.yaml"),))


# -- what callers see -----------------------------------------------------------------------------------

def present(entry: Entry, actor: Actor, *, today: date, uses: int = 0, history: bool = False) -> dict[str, Any]:
    """The entry as `actor` may see it. Its pending change and revisions only for the owning unit and
    the city's roles; the flags say what an operator must be warned of."""
    insider = actor.role in CITY_ROLES or (actor.is_unit and actor.unit_id == entry.unit_id)
    shown = entry.current or entry.pending
    assert shown is not None
    view: dict[str, Any] = {
        "id": entry.id, "unit_id": entry.unit_id, "status": entry.status, "revision": entry.revision,
        "published_revision": entry.published_revision, "version": entry.version, "example": entry.example,
        **content_view(shown), "flags": flags(shown, today), "uses": uses,
        "created_at": iso(entry.created_at), "updated_at": iso(entry.updated_at),
    }
    if insider:
        view["pending"] = content_view(entry.pending) if entry.pending else None
        if history:
            view["revisions"] = [{"n": r.n, "action": r.action, "at": iso(r.at), "by": dict(r.by), "note": r.note,
                                  **({"content": content_view(r.content)} if r.content else {})}
                                 for r in entry.revisions]
    return view


def content_view(content: Content) -> dict[str, Any]:
    return {"title": content.title, "answer": content.answer, "category": content.category,
            "source": content.source, "keywords": list(content.keywords),
            "valid_from": _day(content.valid_from), "valid_until": _day(content.valid_until),
            "review_date": _day(content.review_date)}


def _day(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _content(c: EntryContent) -> Content:
    return Content(title=c.title, answer=c.answer, category=c.category, source=c.source, valid_from=c.valid_from,
                   valid_until=c.valid_until, review_date=c.review_date, keywords=tuple(c.keywords))


def _event(cls: type[Any], entry: Entry, now: datetime, actor: Actor, **extra: Any) -> Event:
    event: Event = cls(entry_id=entry.id, unit_id=entry.unit_id, category=entry.category, revision=entry.revision,
                       at=Instant(iso(now) or ""),
                       actor=ActorRef(user_id=actor.user_id, role=cast(Role, actor.role), unit_id=actor.unit_id),
                       **extra)
    return event
