"""Bulletin's use cases: one reaction that observes every event (keeps it as a fact and adds it to the
aggregates), the feed (D5), statistics (R2), hot spots (R12), the bulletin (R16) and the assessment
(R18). `HANDLERS` is the one table the nameko entrypoints are generated from; the schedule that makes
bulletins is the service's timer (`publish_due`)."""
from __future__ import annotations

import base64
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from hotline_common.actors import ADMIN, OPERATOR, SUBSCRIBER, SUPERVISOR, SYSTEM, UNIT_HANDLER, UNIT_LEADER, Actor
from hotline_common.catalog import Catalog
from hotline_common.clock import utcnow
from hotline_common.dispatch import Handlers, Outcome, Received
from hotline_common.errors import Conflict, NotFound, ValidationFailed
from hotline_common.messages import load_all
from hotline_common.timeutil import CHINA, iso, local_date, parse_iso, start_of_local_day

from . import assessment as scoring
from . import commands as c
from . import domain, export, metrics, periods, render, report
from . import hotspots as hs
from .events import BulletinPublished
from .periods import Period

log = logging.getLogger(__name__)

FEED_LAG = timedelta(seconds=2)  # facts younger than this wait: a slower concurrent insert may still land before
CITY = (OPERATOR, SUPERVISOR, ADMIN)
READERS = CITY + (UNIT_HANDLER, UNIT_LEADER)
KIND_PERIOD = {"weekly": "week", "monthly": "month"}
CLAIM_SECONDS = 600   # a bulletin being made by a replica that died is taken over after this


@dataclass(frozen=True)
class BulletinConfig:
    """config/bulletin.yaml."""
    title: str = "12345工作简报"
    issuer: str = "政府热线管理办公室"
    grace: timedelta = timedelta(minutes=60)
    schedule: tuple[str, ...] = ("weekly", "monthly")
    backfill: int = 8
    rule: hs.Rule = hs.Rule()
    streets: Mapping[str, str] = field(default_factory=dict)
    render_pdf: bool = True

    @classmethod
    def from_yaml(cls, data: Mapping[str, Any]) -> BulletinConfig:
        h = data.get("hotspots") or {}
        rule = hs.Rule(min_count=int(h.get("min_count", 5)), alpha=float(h.get("alpha", 0.01)),
                       baseline_periods=int(h.get("baseline_periods", 4)), floor=float(h.get("baseline_floor", 0.5)),
                       cluster_min=int(h.get("cluster_min", 3)))
        streets = {code: name for district in (data.get("streets") or {}).values() for code, name in district.items()}
        return cls(title=str(data.get("title", cls.title)), issuer=str(data.get("issuer", cls.issuer)),
                   grace=timedelta(minutes=float(data.get("grace_minutes", 60))),
                   schedule=tuple(data.get("schedule") or ("weekly", "monthly")), backfill=int(data.get("backfill", 8)),
                   rule=rule, streets=streets)


@dataclass
class Bulletin:
    """The ports the use cases work with."""
    store: Any                  # store.BulletinStore, or fakes.FakeBulletinStore in tests
    clock: Any                  # .now(): the (controllable) clock that periods are read against
    catalog: Catalog
    scheme: scoring.Scheme
    config: BulletinConfig = BulletinConfig()
    units: Mapping[str, str] = field(default_factory=dict)   # configured units: id -> name
    wall: Callable[[], datetime] = utcnow                     # facts' arrival time (the feed's order)
    known: dict[str, str] = field(default_factory=dict)      # unit names already remembered
    published: set[str] = field(default_factory=set)         # bulletins known to exist (the timer's cache)
    # periods that ended before the first registration bulletin has seen (no bulletin to make), and
    # since when: the timer asks the store again after SKIPPED_SECONDS (a late import may fill them)
    skipped: dict[str, tuple[str, float]] = field(default_factory=dict)   # bulletin id -> (last day, since)

    def today(self) -> date:
        return local_date(self.clock.now())

    def unit_names(self) -> dict[str, str]:
        return {**self.store.unit_names(), **self.units}

    def labels(self) -> dict[str, Mapping[str, str]]:
        return {"type": domain.TYPES_CN, "category": self.catalog.categories, "district": self.catalog.districts,
                "channel": self.catalog.channels, "street": self.config.streets, "unit": self.unit_names()}


# -- the reaction to every event ---------------------------------------------------------------------

def observe(app: Bulletin, received: Received) -> Outcome:
    """Keep the event as a fact and add it to the aggregates, once (R2, R12, R16, R18; D5).

    A fact already kept means its counts were applied (the fact is written last); otherwise the counts
    go to their buckets, each of which skips an event it applied before (a crash half-way is repaired
    by the redelivery without counting anything twice)."""
    event = received.event
    if not domain.counts(event):   # a fact only: its insert is its own dedupe
        return Outcome.APPLIED if app.store.record(fact(received, app.wall())) else Outcome.DUPLICATE
    if app.store.has_fact(received.id):
        return Outcome.DUPLICATE
    ticket_id = domain.needs_ticket(event)
    ticket = app.store.ticket(ticket_id) if ticket_id else None
    tally = domain.tally(event, received.time, ticket)
    if tally.new_ticket is not None:
        app.store.add_ticket(tally.new_ticket)
        day = tally.new_ticket.registered_day   # a late registration: its periods have something to report
        for bulletin_id in [b for b, (last, _) in app.skipped.items() if last >= day]:
            del app.skipped[bulletin_id]
    if tally.dispatch is not None and ticket is not None:
        app.store.add_dispatch(ticket.ticket_id, *tally.dispatch)
    if tally.unit_name is not None and app.known.get(tally.unit_name[0]) != tally.unit_name[1]:
        app.store.remember_unit(*tally.unit_name)
        app.known[tally.unit_name[0]] = tally.unit_name[1]
    counts = list(tally.counts)
    if tally.late is not None and app.store.claim_late(tally.late.ticket_id, tally.late.clock, received.id):
        counts.append(tally.late.count)
    if counts:
        app.store.apply(received.id, domain.merge(counts))
    app.store.record(fact(received, app.wall()))
    return Outcome.APPLIED


def fact(received: Received, received_at: datetime) -> dict:
    """The stored form of an event: the envelope plus what the feed filters on. `received_at` is wall-clock
    time, so the feed's order never follows a test clock backwards."""
    envelope = received.envelope or _envelope_of(received)
    return {"_id": received.id, "type": envelope["type"], "source": envelope.get("source", ""),
            "subject": envelope.get("subject"), "ticket_id": getattr(received.event, "ticket_id", None),
            "time": received.time, "received_at": received_at, "event": envelope}


def _envelope_of(received: Received) -> dict:
    e = received.event
    return {"specversion": "1.0", "id": received.id, "source": received.source, "type": e.full_type(),
            "subject": e.subject, "time": iso(received.time), "datacontenttype": "application/json",
            "data": e.to_data()}


def replay(app: Bulletin, envelopes: Iterable[dict]) -> int:
    """Rebuild the aggregates from kept facts (in arrival order) into `app`'s store. Returns how many
    were applied."""
    applied = 0
    for envelope in envelopes:
        if observe(app, Received.of(envelope)) is Outcome.APPLIED:
            applied += 1
    return applied


# -- D5: a replayable feed ---------------------------------------------------------------------------

def feed(app: Bulletin, cmd: c.Feed, actor: Actor) -> dict:
    actor.require(SUBSCRIBER, OPERATOR, SUPERVISOR, ADMIN)
    types = [t.strip() for t in cmd.types.split(",")] if cmd.types else None
    known = load_all()
    if types and not set(types) <= set(known):
        raise ValidationFailed("unknown event types", errors={"types": sorted(set(types) - set(known))})
    after = decode_cursor(cmd.after) if cmd.after else None
    facts = app.store.feed(after, app.wall() - FEED_LAG, types, cmd.limit)
    cursor = encode_cursor(facts[-1]["received_at"], facts[-1]["_id"]) if facts else cmd.after
    return {"items": [f["event"] for f in facts], "next_cursor": cursor}


def encode_cursor(at: datetime, fact_id: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([iso(at), fact_id]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, fact_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return parse_iso(at), str(fact_id)
    except (ValueError, TypeError):
        raise ValidationFailed("bad cursor", errors={"after": ["not a cursor this API returned"]}) from None


# -- periods as asked ------------------------------------------------------------------------------------

def _period(app: Bulletin, q: c.PeriodQuery, default: Period) -> Period:
    try:
        p = periods.resolve(q.period, q.at, q.from_, q.to, today=app.today(), default=default)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors={"period": [str(exc)]}) from None
    if p.length > 3 * 366:
        raise ValidationFailed("the period is too long", errors={"period": ["at most three years"]})
    return p


def _span(p: Period) -> dict[str, Any]:
    return {"period": p.to_json(), "from": iso(start_of_local_day(p.start)), "to": iso(start_of_local_day(p.end))}


# -- R2: classification statistics -------------------------------------------------------------------

def statistics(app: Bulletin, cmd: c.Statistics, actor: Actor) -> dict:
    actor.require(*CITY)
    today = app.today()
    p = _period(app, cmd, periods.between(today - timedelta(days=29), today))
    group = list(cmd.group_by)
    measures = list(cmd.measures) or (["dispatched"] if "unit" in group else ["registered"])
    unknown = sorted(set(measures) - set(domain.COUNTERS))
    if unknown:
        raise ValidationFailed("unknown measures", errors={"measures": unknown})
    filters: dict[str, list[str]] = {}
    for dim, values in cmd.filters:
        if dim == "category":
            codes = {code for v in values for code in app.catalog.categories if code == v or code.startswith(v + ".")}
            filters[dim] = sorted(codes | set(values))
        else:
            filters[dim] = list(values)
    source = statistics_source(group, filters, measures)
    raw = raw_rows(app, source, p, group, filters, measures)
    rows = _statistics_rows(raw, group, measures, rollup=cmd.rollup, labels=app.labels())
    first = measures[0]
    totals = {m: sum(int(r["counters"].get(m, 0)) for r in raw) for m in measures}
    result = {"group_by": ",".join(group), "dimensions": group, "measures": measures, "source": source, **_span(p),
              "rows": rows, "total": totals[first], "totals": totals,
              "measure_labels": {m: domain.COUNTERS[m] for m in measures}}
    if cmd.format == "json":
        return result
    header = [*group, *[f"{g}_label" for g in group], *measures]
    table = []
    for r in rows:
        keys = r["key"] if len(group) > 1 else [r["key"]]
        labels = r["label"] if len(group) > 1 else [r["label"]]
        counts = r.get("counts") or {first: r["count"]}
        table.append([*keys, *labels, *[counts.get(m, 0) for m in measures]])
    name = f"statistics-{'-'.join(group)}-{p.key.replace('..', '_')}"
    if cmd.format == "csv":
        return export.file_result(export.csv_bytes(header, table), export.CSV, f"{name}.csv")
    return export.file_result(export.xlsx_bytes([("统计", header, table)]), export.XLSX, f"{name}.xlsx")


PLACE_DIMENSIONS = {"district", "type", "channel", "category"}


def statistics_source(group: list[str], filters: Mapping[str, Any], measures: list[str]) -> str:
    """The smallest buckets that answer the query: `units` (day × unit) for outcomes by unit and day,
    `places` (day × district) for registrations by district and one of type, channel, category; the fine
    `cube` for anything else. The three give the same rows (tests/unit/test_bulletin_handlers.py)."""
    dims = set(group) | set(filters)
    if dims <= {"unit", "day"} and "registered" not in measures:
        return "units"
    other = dims - {"day"}
    if measures == ["registered"] and other <= PLACE_DIMENSIONS and len(other - {"district"}) <= 1:
        return "places"
    return "cube"


def raw_rows(app: Bulletin, source: str, p: Period, group: list[str], filters: Mapping[str, list[str]],
             measures: list[str]) -> list[dict]:
    """Counters per combination of the group's values, as `store.cube` gives them, from `source`."""
    if source == "cube":
        rows: list[dict] = app.store.cube(p.first_day, p.end_day, group, filters, measures)
        return rows
    combined: dict[tuple, dict[str, int]] = {}
    if source == "units":
        for d in app.store.units(p.first_day, p.end_day, lists=False):
            if "unit" in filters and d["unit"] not in filters["unit"]:
                continue
            key = tuple(d[g] for g in group)
            domain.add(combined.setdefault(key, dict.fromkeys(measures, 0)),
                       {m: d["counters"].get(m, 0) for m in measures})
    else:
        (by,) = (set(group) | set(filters)) - {"day", "district"} or {None}
        for d in app.store.places(p.first_day, p.end_day):
            if "district" in filters and d["district"] not in filters["district"]:
                continue
            items = d[by].items() if by else [(None, d["registered"])]
            for value, n in items:
                if by in filters and value not in filters[by]:
                    continue
                key = tuple(d["district"] if g == "district" else d["day"] if g == "day" else value for g in group)
                counters = combined.setdefault(key, {"registered": 0})
                counters["registered"] += int(n)
    return [{"key": dict(zip(group, key, strict=True)), "counters": counters} for key, counters in combined.items()]


def _statistics_rows(raw: list[dict], group: list[str], measures: list[str], *, rollup: bool,
                     labels: Mapping[str, Mapping[str, str]]) -> list[dict]:
    """Rows keyed by the group's values; with `rollup`, a category row counts its children too."""
    combined: dict[tuple, dict[str, int]] = {}
    rolled: set[tuple] = set()
    for r in raw:
        key = tuple("" if r["key"].get(g) is None else r["key"][g] for g in group)
        domain.add(combined.setdefault(key, {}), r["counters"])
        if rollup and "category" in group:
            i = group.index("category")
            for parent in domain.category_path(key[i])[:-1]:
                parent_key = key[:i] + (parent,) + key[i + 1:]
                domain.add(combined.setdefault(parent_key, {}), r["counters"])
                rolled.add(parent_key)
    rows = []
    for key, counters in combined.items():
        if not any(counters.get(m, 0) for m in measures):
            continue
        shown = [_label(g, k, labels) for g, k in zip(group, key, strict=True)]
        row: dict[str, Any] = {"key": key[0] if len(group) == 1 else list(key),
                               "label": shown[0] if len(group) == 1 else shown,
                               "count": int(counters.get(measures[0], 0))}
        if len(measures) > 1:
            row["counts"] = {m: int(counters.get(m, 0)) for m in measures}
        if "category" in group:
            code = key[group.index("category")]
            path = domain.category_path(code)
            row["parent"] = path[-2] if len(path) > 1 else None
            row["rollup"] = key in rolled
        rows.append(row)
    if group[0] == "day":
        rows.sort(key=lambda r: (str(r["key"]), -r["count"]))
    else:
        rows.sort(key=lambda r: (-r["count"], str(r["key"])))
    return rows


def _label(dim: str, key: str, labels: Mapping[str, Mapping[str, str]]) -> str:
    if dim == "unit" and not key:
        return "（未交办）"
    return str(labels.get(dim, {}).get(key, key))


# -- R12: hot spots ------------------------------------------------------------------------------------

def hotspots(app: Bulletin, cmd: c.Hotspots, actor: Actor) -> dict:
    actor.require(*READERS)
    today = app.today()
    p = _period(app, cmd, periods.between(today - timedelta(days=6), today))
    result = {**_span(p), **_hotspots_of(app, p)}
    if cmd.format == "json":
        return result
    header = ["category", "category_label", "district", "district_label", "street", "count", "baseline", "ratio",
              "p_value"]
    table = [[r[h] for h in header] for r in result["rises"]]
    return export.file_result(export.csv_bytes(header, table), export.CSV, f"hotspots-{p.key.replace('..', '_')}.csv")


def _baseline(app: Bulletin, p: Period) -> list[Period]:
    """The periods a hot spot is measured against: the `baseline_periods` before `p`, less those that
    ended before bulletin's first registration (no data is not "no requests")."""
    first = app.store.first_day()
    history = [p.previous(i) for i in range(1, app.config.rule.baseline_periods + 1)]
    return [h for h in history if first is not None and h.last_day >= first]


def _hotspots_of(app: Bulletin, p: Period) -> dict[str, Any]:
    """R12 for a period against its `baseline_periods` predecessors, from one read of the place buckets."""
    history = _baseline(app, p)
    first = history[-1] if history else p
    docs = app.store.places(first.first_day, p.end_day)
    now = report.sum_places(d for d in docs if p.contains(d["day"]))
    before = [report.sum_places(d for d in docs if h.contains(d["day"])) for h in history]
    return {"baseline_periods": [h.key for h in history],
            **report.hotspot_report(now, before, app.config.rule, app.labels())}


# -- R16: the bulletin -----------------------------------------------------------------------------------

def publish_bulletin(app: Bulletin, cmd: c.PublishBulletin, actor: Actor) -> dict:
    actor.require(OPERATOR, ADMIN, SYSTEM)
    kind = KIND_PERIOD[cmd.kind]
    if cmd.period:
        try:
            p = periods.parse_key(cmd.period)
        except ValueError as exc:
            raise ValidationFailed(str(exc), errors={"period": [str(exc)]}) from None
        if p.kind != kind:
            raise ValidationFailed(f"a {cmd.kind} bulletin is for a {kind}",
                                   errors={"period": [f"a {kind} key, e.g. 2026-W11 or 2026-03"]})
    else:
        p = periods.last_ended(kind, app.clock.now())  # type: ignore[arg-type]
    if start_of_local_day(p.end) > app.clock.now():
        raise Conflict(f"the {kind} {p.key} has not ended yet")
    made, doc = _publish(app, cmd.kind, p, replace=cmd.replace, actor=actor)
    return {**summary(doc), "created": made}


def _publish(app: Bulletin, kind: str, p: Period, *, replace: bool, actor: Actor) -> tuple[bool, dict]:
    bulletin_id = f"{kind}-{p.key}"
    existing = app.store.bulletin(bulletin_id)
    if existing is not None and not replace:
        app.published.add(bulletin_id)
        return False, existing
    now = app.clock.now()
    if existing is None:
        number = app.store.claim_number(bulletin_id, kind, p.year, app.wall(), CLAIM_SECONDS)
        if number is None:
            raise Conflict(f"bulletin {bulletin_id} is being made")
        revision = 1
    else:
        number, revision = existing["number"], existing["revision"] + 1
    try:
        content = compose(app, p)
        doc = {"_id": bulletin_id, "kind": kind, "title": app.config.title, "year": p.year, "number": number,
               "issue": f"{p.year}年第{number}期", "period": p.key, "first_day": p.first_day, "last_day": p.last_day,
               "revision": revision, "generated_at": now, "generated_label": _beijing(now),
               "generated_by": actor.to_dict(), "registered": content["totals"]["registered"]["value"],
               "named_units": content["named_units"], "content": content}
        html_text = render.html(doc, issuer=app.config.issuer)
        files = {"html": html_text.encode("utf-8")}
        if app.config.render_pdf:
            files["pdf"] = render.pdf(html_text)
        event = BulletinPublished(bulletin_id=bulletin_id, kind=kind, period=p.key,  # type: ignore[arg-type]
                                  first_day=p.first_day, last_day=p.last_day, year=p.year, number=number,
                                  issue=doc["issue"], revision=revision, registered=doc["registered"],
                                  named_units=doc["named_units"], published_at=iso(now))
        app.store.save_bulletin(doc, files, [event], version=existing["version"] if existing else None)
    except BaseException:
        if existing is None:
            app.store.release_claim(bulletin_id)  # a failed making never blocks the period's bulletin
        raise
    app.published.add(bulletin_id)
    log.info("bulletin %s published (%s, revision %d)", bulletin_id, doc["issue"], revision)
    return True, app.store.bulletin(bulletin_id) or doc


def compose(app: Bulletin, p: Period) -> dict:
    """The bulletin's content for a period: reads the unit-day and place-day buckets of the period, the
    period before and (for hot spots) the baseline periods: a cost in days × units and days × districts,
    whatever the number of tickets."""
    previous = p.previous()
    now_units = report.sum_units(app.store.units(p.first_day, p.end_day))
    before_units = report.sum_units(app.store.units(previous.first_day, previous.end_day, lists=False))
    history = _baseline(app, p)
    docs = app.store.places(min([previous, *history], key=lambda x: x.start).first_day, p.end_day)
    now_places = report.sum_places(d for d in docs if p.contains(d["day"]))
    before_places = report.sum_places(d for d in docs if previous.contains(d["day"]))
    history_places = [report.sum_places(d for d in docs if h.contains(d["day"])) for h in history]
    labels = app.labels()
    spots = {"baseline_periods": [h.key for h in history],
             **report.hotspot_report(now_places, history_places, app.config.rule, labels)}
    return report.compose(period=p, previous=previous, now_places=now_places, before_places=before_places,
                          now_units=now_units, before_units=before_units, hotspots=spots,
                          unit_names=labels["unit"], labels=labels)


def summary(doc: Mapping[str, Any]) -> dict:
    return {"id": doc["_id"], "kind": doc["kind"], "title": doc["title"], "year": doc["year"], "number": doc["number"],
            "issue": doc["issue"], "period": doc["period"], "first_day": doc["first_day"], "last_day": doc["last_day"],
            "revision": doc["revision"], "generated_at": iso(doc["generated_at"]),
            "registered": doc["registered"], "named_units": list(doc["named_units"]),
            "formats": ["json", "html", "pdf"]}


def list_bulletins(app: Bulletin, cmd: c.ListBulletins, actor: Actor) -> dict:
    actor.require(*READERS)
    return {"items": [summary(d) for d in app.store.list_bulletins(cmd.kind, cmd.year, cmd.limit)]}


def get_bulletin(app: Bulletin, cmd: c.GetBulletin, actor: Actor) -> dict:
    actor.require(*READERS)
    doc = app.store.bulletin(cmd.bulletin_id)
    if doc is None:
        raise NotFound(f"no bulletin {cmd.bulletin_id}")
    if cmd.format == "json":
        return {**summary(doc), "version": doc["version"], "content": doc["content"]}
    body = app.store.bulletin_file(cmd.bulletin_id, cmd.format)
    if body is None:
        raise NotFound(f"bulletin {cmd.bulletin_id} has no {cmd.format}")
    content_type = export.HTML if cmd.format == "html" else export.PDF
    return export.file_result(body, content_type, f"{cmd.bulletin_id}.{cmd.format}")


def publish_due(app: Bulletin) -> list[str]:
    """The schedule (the service's timer): every ended week and month without its bulletin gets one, once
    the grace time has passed, oldest first; at most `backfill` of them after a pause, and none for
    periods before the first registration bulletin has seen."""
    now = app.clock.now()
    made = []
    for kind in app.config.schedule:
        latest = periods.last_ended(KIND_PERIOD[kind], now - app.config.grace)  # type: ignore[arg-type]
        missing = []
        p = latest
        for _ in range(max(1, app.config.backfill)):
            bulletin_id = f"{kind}-{p.key}"
            if bulletin_id in app.published or _still_skipped(app, bulletin_id):
                break
            if app.store.bulletin(bulletin_id) is not None:
                app.published.add(bulletin_id)
                break
            missing.append(p)
            p = p.previous()
        if not missing:
            continue
        first = app.store.first_day()
        for p in reversed(missing):
            if first is None or p.last_day < first:
                app.skipped[f"{kind}-{p.key}"] = (p.last_day, time.monotonic())
                continue
            try:
                created, _ = _publish(app, kind, p, replace=False, actor=_SCHEDULE)
            except Conflict:
                continue   # another replica is making it
            if created:
                made.append(f"{kind}-{p.key}")
    return made


_SCHEDULE = Actor(user_id="bulletin.schedule", role=SYSTEM)
SKIPPED_SECONDS = 600.0


def _still_skipped(app: Bulletin, bulletin_id: str) -> bool:
    """A period found to end before the first registration, lately: not asked of the store again at
    every tick (it was ~18 reads a second on an idle stack, a tenth of what the embedded store serves)."""
    skipped = app.skipped.get(bulletin_id)
    if skipped is None:
        return False
    if time.monotonic() - skipped[1] < SKIPPED_SECONDS:
        return True
    del app.skipped[bulletin_id]
    return False


def _beijing(instant: datetime) -> str:
    local = instant.astimezone(CHINA)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


# -- R18: the assessment ---------------------------------------------------------------------------------

def assessment(app: Bulletin, cmd: c.Assessment, actor: Actor) -> dict:
    actor.require(*CITY)
    p = _period(app, cmd, periods.period_of("year", app.today()))
    sums = report.sum_units(app.store.units(p.first_day, p.end_day, lists=False))
    names = app.unit_names()
    units = {u: dict(sums[u].counters) if u in sums else {} for u in sorted(set(names) | set(sums)) if u}
    inputs: dict[str, dict[str, scoring.ManualInput]] = {}
    for given in app.store.inputs(p.key):
        inputs.setdefault(given.unit_id, {})[given.part] = given
    ranked = scoring.rank(app.scheme, units, inputs, names)
    result = {**_span(p), "scheme": app.scheme.to_json(), "metrics": metrics.describe(), **ranked}
    if cmd.format == "json":
        return result
    parts, deductions = app.scheme.parts, app.scheme.deductions
    header = ["名次", "单位代码", "承办单位", "总分", *[f"{x.label}（{x.weight:g}）" for x in parts],
              *[f"扣分：{d.label}" for d in deductions], "待录入"]
    table = [[r["rank"], r["unit_id"], r["unit_name"], r["score"], *[x["points"] for x in r["parts"]],
              *[d["points"] for d in r["deductions"]], "、".join(r["pending_manual"])] for r in ranked["ranking"]]
    detail_header = ["单位代码", "承办单位", "项目", "权重", "得分", "分子", "分母", "比率", "人工评分", "录入人", "录入时间"]
    detail = []
    for r in ranked["ranking"]:
        for x in r["parts"]:
            basis = x["basis"]
            manual = basis.get("manual") or {}
            detail.append([r["unit_id"], r["unit_name"], x["label"], x["weight"], x["points"],
                           basis.get("numerator"), basis.get("denominator"), basis.get("value"),
                           manual.get("score"), manual.get("by"), manual.get("at")])
    sheets = [("排名", header, table), ("明细", detail_header, detail)]
    return export.file_result(export.xlsx_bytes(sheets), export.XLSX, f"assessment-{p.key.replace('..', '_')}.xlsx")


def put_assessment_input(app: Bulletin, cmd: c.PutAssessmentInput, actor: Actor) -> dict:
    actor.require(ADMIN)
    try:
        p = periods.parse_key(cmd.period)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors={"period": [str(exc)]}) from None
    if cmd.part not in app.scheme.manual_parts:
        raise ValidationFailed("not a manual part of the assessment",
                               errors={"part": [f"one of {', '.join(app.scheme.manual_parts)}"]})
    if cmd.unit_id not in app.unit_names():
        raise NotFound(f"no unit {cmd.unit_id}")
    given = scoring.ManualInput(cmd.unit_id, cmd.part, cmd.score, cmd.note, actor.user_id, iso(app.clock.now()))
    app.store.put_input(p.key, given)
    return {"period": p.key, **_input_json(given)}


def assessment_inputs(app: Bulletin, cmd: c.ListAssessmentInputs, actor: Actor) -> dict:
    actor.require(*CITY)
    try:
        p = periods.parse_key(cmd.period)
    except ValueError as exc:
        raise ValidationFailed(str(exc), errors={"period": [str(exc)]}) from None
    return {"period": p.key, "items": [_input_json(g) for g in app.store.inputs(p.key)]}


def _input_json(given: scoring.ManualInput) -> dict:
    return {"unit_id": given.unit_id, "part": given.part, "score": given.score, "note": given.note,
            "by": given.by, "at": given.at}


HANDLERS = Handlers(
    service="bulletin",
    commands={
        "feed": (c.Feed, feed),
        "statistics": (c.Statistics, statistics),
        "hotspots": (c.Hotspots, hotspots),
        "publish_bulletin": (c.PublishBulletin, publish_bulletin),
        "list_bulletins": (c.ListBulletins, list_bulletins),
        "get_bulletin": (c.GetBulletin, get_bulletin),
        "assessment": (c.Assessment, assessment),
        "put_assessment_input": (c.PutAssessmentInput, put_assessment_input),
        "assessment_inputs": (c.ListAssessmentInputs, assessment_inputs),
    },
    events={cls: observe for cls in sorted(load_all().values(), key=lambda k: k.TYPE)},
)
