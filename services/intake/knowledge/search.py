"""Operators' search over the knowledge base (R19): Okapi BM25 over jieba's words, in memory.

The index holds the published entries only. It is rebuilt when the knowledge base's revision (a
counter every change moves) differs from the one it was built at; rebuilding re-segments only the
entries whose revision changed (the words of the others are kept), so a change costs the one entry's
segmentation plus recounting the postings. A query segments its text (synonyms folded the same way,
see segment.py), sums precomputed BM25 weights over the postings of its words, filters by category
and validity, and keeps the best `limit`: a few milliseconds for 10,000 entries (bench/knowledge.py).

    score(d, q) = sum over words w of q:  idf(w) * tf(w, d) * (k1 + 1) / (tf(w, d) + k1 * (1 - b + b * |d| / avgdl))
    idf(w) = ln(1 + (N - df(w) + 0.5) / (df(w) + 0.5))

A title's words count twice (and keywords twice): a query that names the entry's subject ranks it
above one that mentions it in passing.
"""
from __future__ import annotations

import heapq
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from operator import itemgetter

from ..segment import Segmenter
from .domain import Content, Entry

K1 = 1.5
B = 0.75
TITLE_WEIGHT = 2
KEYWORD_WEIGHT = 2


@dataclass(frozen=True)
class Hit:
    entry: Entry
    score: float
    matched: tuple[str, ...]


class Bm25:
    """An immutable BM25 index over documents given as word counts. Each word's postings are two
    parallel lists (document indexes, precomputed weights), so a query only adds floats."""

    def __init__(self, docs: dict[str, Counter[str]], k1: float = K1, b: float = B):
        self.ids = list(docs)
        n = len(self.ids)
        lengths = [sum(docs[i].values()) for i in self.ids]
        avgdl = (sum(lengths) / n) if n else 1.0
        df: Counter[str] = Counter()
        for counts in docs.values():
            df.update(counts.keys())
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}
        postings: dict[str, tuple[list[int], list[float]]] = {}
        for index, doc_id in enumerate(self.ids):
            norm = k1 * (1 - b + b * lengths[index] / (avgdl or 1.0))
            for word, tf in docs[doc_id].items():
                ids, weights = postings.setdefault(word, ([], []))
                ids.append(index)
                weights.append(self.idf[word] * tf * (k1 + 1) / (tf + norm))
        self.postings = postings

    def __len__(self) -> int:
        return len(self.ids)

    def scores(self, terms: Iterable[str]) -> dict[int, float]:
        """Document index -> score, for the documents that have at least one of the terms."""
        acc: dict[int, float] = {}
        for term in dict.fromkeys(terms):
            ids, weights = self.postings.get(term, ((), ()))
            if not acc:
                acc = dict(zip(ids, weights, strict=True))
                continue
            get = acc.get
            for index, weight in zip(ids, weights, strict=True):
                acc[index] = get(index, 0.0) + weight
        return acc


class KnowledgeIndex:
    """The published entries as operators search them; one per process, refreshed from the store."""

    def __init__(self, segmenter: Segmenter, check_seconds: float = 1.0):
        self.segmenter = segmenter
        self.check_seconds = check_seconds
        self._lock = threading.Lock()
        self._revision: int | None = None
        self._checked_at = -1e9
        self._words: dict[tuple[str, int], Counter[str]] = {}   # (entry id, revision) -> word counts
        self._entries: list[Entry] = []
        self._spans: list[tuple[int, int]] = []                 # validity as day ordinals, per entry
        self._categories: dict[str, frozenset[int]] = {}
        self._bm25 = Bm25({})

    # -- keeping current
    def ensure_current(self, revision: Callable[[], int], published: Callable[[], list[Entry]]) -> bool:
        """Rebuild if the knowledge base moved on since the index was built (checked at most every
        `check_seconds`). True when it rebuilt."""
        now = time.monotonic()
        if now - self._checked_at < self.check_seconds:
            return False
        current = revision()
        self._checked_at = now
        if current == self._revision:
            return False
        self.build(published(), current)
        return True

    def expire(self) -> None:
        """Look at the revision on the next search (this replica's own change is seen at once)."""
        self._checked_at = -1e9

    def build(self, entries: Iterable[Entry], revision: int | None = None) -> None:
        entries = [e for e in entries if e.current is not None and not e.retired]
        for entry in entries:
            assert entry.current is not None
            self.segmenter.add_words(entry.current.keywords)
        words = {}
        for entry in entries:
            key = (entry.id, entry.published_revision or 0)
            counts = self._words.get(key)
            if counts is None:
                assert entry.current is not None
                counts = self.document(entry.current)
            words[key] = counts
        bm25 = Bm25({f"{eid}@{rev}": counts for (eid, rev), counts in words.items()})
        spans = [_span(e.current) for e in entries if e.current is not None]
        with self._lock:
            self._words = words
            self._entries = entries
            self._bm25 = bm25
            self._spans = spans
            self._categories = {}
            self._revision = revision

    def _in_category(self, category: str, entries: list[Entry]) -> frozenset[int]:
        """The indexes of the entries in `category` or under it (kept until the next build)."""
        found = self._categories.get(category)
        if found is None:
            prefix = category + "."
            found = frozenset(i for i, e in enumerate(entries) if e.current is not None and (
                e.current.category == category or e.current.category.startswith(prefix)))
            if entries is self._entries:
                self._categories[category] = found
        return found

    def document(self, content: Content) -> Counter[str]:
        counts: Counter[str] = Counter()
        for word in self.segmenter.words(content.title):
            counts[word] += TITLE_WEIGHT
        for keyword in content.keywords:
            for word in self.segmenter.words(keyword):
                counts[word] += KEYWORD_WEIGHT
        counts.update(self.segmenter.words(content.answer))
        return counts

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def revision(self) -> int | None:
        return self._revision

    # -- searching
    def search(self, query: str, *, today: date, category: str | None = None, valid_on_day: date | None = None,
               include_expired: bool = False, limit: int = 10) -> list[Hit]:
        """The best `limit` published entries for `query`: in `category` (or under it) and valid on
        `valid_on_day` (default today) unless `include_expired`; best score first, then the newest."""
        terms = self.segmenter.terms(query)
        with self._lock:
            bm25, entries, words, spans = self._bm25, self._entries, self._words, self._spans
        day = (valid_on_day or today).toordinal()
        scored = bm25.scores(terms)
        items = list(scored.items())
        if category:
            allowed = self._in_category(category, entries)
            items = [pair for pair in items if pair[0] in allowed]

        def admitted(index: int) -> bool:
            return include_expired or spans[index][0] <= day <= spans[index][1]

        # the best first, validity checked lazily: most candidates are valid, so a few more than `limit`
        # of the best usually suffice; otherwise go through them all in order
        best: list[tuple[int, float]] = []
        ranked = heapq.nlargest(limit * 4, items, key=itemgetter(1))
        for pool in (ranked, sorted(items, key=itemgetter(1), reverse=True)):
            best = [(i, score) for i, score in pool if admitted(i)][:limit]
            if len(best) == limit or len(pool) == len(items):
                break
        hits = []
        for index, score in best:
            entry = entries[index]
            key = (entry.id, entry.published_revision or 0)
            matched = tuple(t for t in terms if t in words.get(key, ()))
            hits.append(Hit(entry=entry, score=round(score, 4), matched=matched))
        return hits


def _span(content: Content) -> tuple[int, int]:
    return (content.valid_from.toordinal() if content.valid_from else 0,
            content.valid_until.toordinal() if content.valid_until else date.max.toordinal())
