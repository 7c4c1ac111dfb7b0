"""The knowledge base's use cases `handler(app, command, actor)`; `COMMANDS` joins intake's one handler
table (services/intake/handlers.py). `app.knowledge` is a `KnowledgeBase`: the store, the search index
and what the rules check against."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from hotline_common.actors import Actor
from hotline_common.errors import NotFound, StaleVersion
from hotline_common.mongo import retrying
from hotline_common.timeutil import local_date

from ..segment import Segmenter
from . import domain
from .commands import ApproveEntry, CreateEntry, GetEntry, ListEntries, RetireEntry, SearchEntries, UpdateEntry
from .domain import Entry
from .search import KnowledgeIndex


@dataclass
class KnowledgeBase:
    """The knowledge base's ports: its store, the in-memory search index, the segmenter, and the
    categories and units entries may name."""
    store: Any                       # store.KnowledgeStore or fakes.FakeKnowledgeStore
    segmenter: Segmenter
    categories: dict[str, Any]
    units: set[str] = field(default_factory=set)
    index: KnowledgeIndex = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.index is None:
            self.index = KnowledgeIndex(self.segmenter)

    def current_index(self) -> KnowledgeIndex:
        self.index.ensure_current(self.store.revision, self.store.published)
        return self.index

    def new_id(self) -> str:
        return "kb" + uuid.uuid4().hex[:12]


def _today(app: Any) -> date:
    return local_date(app.clock.now())


def _kb(app: Any) -> KnowledgeBase:
    kb: KnowledgeBase = app.knowledge
    return kb


def _visible(app: Any, entry_id: str, actor: Actor) -> Entry:
    entry = _kb(app).store.get(entry_id)
    if entry is None or not domain.can_see(entry, actor):
        raise NotFound(f"knowledge-base entry {entry_id} not found")
    return entry


def _present(app: Any, entry: Entry, actor: Actor, history: bool = False) -> dict:
    uses = _kb(app).store.use_counts([entry.id]).get(entry.id, 0)
    return domain.present(entry, actor, today=_today(app), uses=uses, history=history)


# -- reads --------------------------------------------------------------------------------------------

def search_knowledge(app: Any, cmd: SearchEntries, actor: Actor) -> dict:
    """Ranked published entries for the operator's words; expired ones only when asked for, flagged."""
    domain.may_search(actor)
    kb = _kb(app)
    today = _today(app)
    hits = kb.current_index().search(cmd.q, today=today, category=cmd.category, valid_on_day=cmd.valid_on,
                                     include_expired=cmd.include_expired, limit=cmd.limit)
    uses = kb.store.use_counts([h.entry.id for h in hits]) if hits else {}
    items = []
    for hit in hits:
        view = domain.present(hit.entry, actor, today=today, uses=uses.get(hit.entry.id, 0))
        view.pop("pending", None)
        items.append({**view, "score": hit.score, "matched": list(hit.matched)})
    return {"items": items, "terms": kb.segmenter.terms(cmd.q), "indexed": len(kb.index)}


def list_knowledge(app: Any, cmd: ListEntries, actor: Actor) -> dict:
    """A unit maintains its own entries; the city's roles see any unit's (and the ones waiting for
    approval, `status=pending`)."""
    unit = actor.unit_scope(cmd.unit)
    entries = _kb(app).store.find(unit=unit, status=cmd.status, category=cmd.category, limit=cmd.limit)
    uses = _kb(app).store.use_counts([e.id for e in entries]) if entries else {}
    today = _today(app)
    return {"items": [domain.present(e, actor, today=today, uses=uses.get(e.id, 0)) for e in entries]}


def get_knowledge(app: Any, cmd: GetEntry, actor: Actor) -> dict:
    return _present(app, _visible(app, cmd.entry_id, actor), actor, history=True)


# -- changes ------------------------------------------------------------------------------------------

def create_knowledge(app: Any, cmd: CreateEntry, actor: Actor) -> dict:
    kb = _kb(app)
    entry, events = domain.create(None, cmd, now=app.clock.now(), actor=actor, new_id=kb.new_id(),
                                  categories=kb.categories, units=kb.units)
    kb.store.add(entry, events)
    kb.index.expire()
    return {**_present(app, replace(entry, version=1), actor, history=True), "created": True}


def _change(app: Any, entry_id: str, actor: Actor, expected_version: int | None,
            decide: Callable[[Entry], tuple[Entry, list]]) -> dict:
    """Load, check If-Match, decide, save over the version read; without If-Match a race with another
    writer is decided again on the fresh entry."""
    def attempt() -> Entry:
        entry = _visible(app, entry_id, actor)
        if expected_version is not None and expected_version != entry.version:
            raise StaleVersion(f"entry {entry_id} is at version {entry.version}, not {expected_version}",
                               {"current_version": entry.version})
        after, events = decide(entry)
        _kb(app).store.save(entry, after, events)
        _kb(app).index.expire()
        return replace(after, version=entry.version + 1)
    after = attempt() if expected_version is not None else retrying(attempt)
    return _present(app, after, actor, history=True)


def update_knowledge(app: Any, cmd: UpdateEntry, actor: Actor) -> dict:
    return _change(app, cmd.entry_id, actor, cmd.expected_version, lambda e: domain.update(
        e, cmd, now=app.clock.now(), actor=actor, categories=_kb(app).categories))


def approve_knowledge(app: Any, cmd: ApproveEntry, actor: Actor) -> dict:
    return _change(app, cmd.entry_id, actor, cmd.expected_version, lambda e: domain.approve(
        e, cmd, now=app.clock.now(), actor=actor))


def retire_knowledge(app: Any, cmd: RetireEntry, actor: Actor) -> dict:
    return _change(app, cmd.entry_id, actor, cmd.expected_version, lambda e: domain.retire(
        e, cmd, now=app.clock.now(), actor=actor))


COMMANDS: dict[str, tuple[type, Callable[..., Any]]] = {
    SearchEntries.NAME: (SearchEntries, search_knowledge),
    ListEntries.NAME: (ListEntries, list_knowledge),
    GetEntry.NAME: (GetEntry, get_knowledge),
    CreateEntry.NAME: (CreateEntry, create_knowledge),
    UpdateEntry.NAME: (UpdateEntry, update_knowledge),
    ApproveEntry.NAME: (ApproveEntry, approve_knowledge),
    RetireEntry.NAME: (RetireEntry, retire_knowledge),
}
