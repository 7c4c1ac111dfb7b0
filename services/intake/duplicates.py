"""Duplicate candidates at registration (并单): which open tickets a call may repeat.

Three ways a ticket becomes a candidate, within the last N days (config/duplicates.yaml):
- the same caller (phone number);
- the same place: same category and district;
- similar content: MinHash over jieba's words of the content and the address, in LSH bands (see
  `fingerprint`): two tickets sharing a band are likely to share many words, so the store finds them
  on the band's key (each key remembers its newest tickets: store.py, `duplicate_ways`) instead of
  comparing every recent ticket.
Each candidate is then scored by the word overlap (Jaccard) of the two texts, and by the reasons.

Pure: the words come in already segmented (segment.Segmenter), tickets as read by the store.
"""
from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .domain import Ticket

BANDS = 12          # MinHash LSH: 12 bands of 1 hash (short texts: a band of 2 hashes misses too often)
ROWS = 1
_PRIME = (1 << 61) - 1
_PERMUTATIONS = [(int.from_bytes(hashlib.blake2b(f"a{i}".encode(), digest_size=8).digest(), "big") % _PRIME or 1,
                  int.from_bytes(hashlib.blake2b(f"b{i}".encode(), digest_size=8).digest(), "big") % _PRIME)
                 for i in range(BANDS * ROWS)]


@dataclass(frozen=True)
class DuplicatePolicy:
    """config/duplicates.yaml."""
    days: int = 7
    limit: int = 10
    min_similarity: float = 0.3     # content alone makes a candidate from this Jaccard similarity up
    pool: int = 200                 # tickets read per query at most
    registration_pool: int = 50     # the same, for the suggestions that come with a registration
    common_words: frozenset[str] = frozenset()   # words left out of the fingerprint

    def __post_init__(self) -> None:
        object.__setattr__(self, "common_words", frozenset(self.common_words))

    def fingerprint(self, words: Iterable[str]) -> str | None:
        """The fingerprint of the words that tell one call from another (`fingerprint_of`)."""
        return fingerprint_of(significant(words, self.common_words))


def significant(words: Iterable[str], common: Collection[str] = ()) -> list[str]:
    """The words a fingerprint is made of: not one character long (号, 路, 请, 个: in most calls), not a
    word of the hotline's own phrasing (市民, 投诉, 希望, 尽快处理: `common`). A band is one minimum
    hash, so a word that most tickets share makes a band that most tickets share: bench/pipeline.py
    once found one band in 89 % of the tickets stored, read whole at every registration."""
    return [w for w in words if len(w) > 1 and w not in common]


@dataclass(frozen=True, kw_only=True)
class Draft:
    """What a call is about, registered or not."""
    id: str | None
    category: str | None
    district: str | None
    phone: str | None
    words: tuple[str, ...]
    fingerprint: str | None


def _hash(word: str) -> int:
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")


def fingerprint_of(words: Iterable[str]) -> str | None:
    """The text's MinHash bands over its distinct words: 12 minimum hashes (one per band), as 12 hex
    keys joined by commas (None for a text without words). Two texts share at least one band with
    probability 1 - (1 - J)^12 for a word overlap (Jaccard) J: 0.99 at 0.3. Loosely related tickets
    come back too (0.72 at 0.1): the candidates are then kept by their real word overlap
    (`rank`, min_similarity). 12 index keys per ticket; bands of 2 hashes (fewer false matches) missed
    too many reworded calls, whose short texts share only 10-20 words."""
    hashes = [_hash(w) for w in set(words)]
    if not hashes:
        return None
    signature = [min((a * h + b) % _PRIME for h in hashes) for a, b in _PERMUTATIONS]
    keys = []
    for band in range(BANDS):
        rows = signature[band * ROWS:(band + 1) * ROWS]
        keys.append(hashlib.blake2b(repr(rows).encode(), digest_size=4).hexdigest())
    return ",".join(keys)


def bands(fingerprint: str | None) -> list[str]:
    """The fingerprint's bands, each tagged with its position ("0:ab12cd34"), as the store indexes them."""
    if not fingerprint:
        return []
    return [f"{i}:{key}" for i, key in enumerate(fingerprint.split(","))]


def shared_bands(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return sum(x == y for x, y in zip(a.split(","), b.split(","), strict=False))


def jaccard(a: Iterable[str], b: Iterable[str]) -> float:
    sa, sb = set(a), set(b)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)


def rank(draft: Draft, found: Iterable[tuple[Ticket, tuple[str, ...]]], *, policy: DuplicatePolicy,
         now: datetime) -> list[dict[str, Any]]:
    """The candidates worth showing, best first: each with why (`reasons`), how similar its words are
    (`similarity`, 0..1) and its SimHash distance. `found` pairs each ticket the store returned with
    its words."""
    out = []
    for ticket, words in found:
        if ticket.id == draft.id or ticket.closed or ticket.merged_into is not None:
            continue
        similarity = round(jaccard(draft.words, words), 3)
        reasons = []
        if draft.phone and ticket.citizen.phone == draft.phone:
            reasons.append("same_caller")
        if draft.category and draft.district and (ticket.category, ticket.district) == (draft.category, draft.district):
            reasons.append("same_place")
        if similarity >= policy.min_similarity:
            reasons.append("similar_content")
        if not reasons:
            continue
        score = similarity + 0.3 * ("same_caller" in reasons) + 0.2 * ("same_place" in reasons)
        out.append({"id": ticket.id, "number": ticket.number, "type": ticket.type, "category": ticket.category,
                    "district": ticket.district, "address": ticket.address, "content": ticket.content,
                    "status": ticket.status, "created_at": ticket.created_at, "reasons": reasons,
                    "similarity": similarity, "shared_bands": shared_bands(draft.fingerprint, ticket.fingerprint),
                    "score": round(score, 3),
                    "lead_unit": {"id": ticket.lead_unit.id, "name": ticket.lead_unit.name} if ticket.lead_unit else None})
    out.sort(key=lambda c: (c["score"], c["created_at"]), reverse=True)
    return out[:policy.limit]
