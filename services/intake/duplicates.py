"""Duplicate candidates at registration (并单): which open tickets a call may repeat.

Three ways a ticket becomes a candidate, within the last N days (config/duplicates.yaml):
- the same caller (phone number);
- the same place: same category and district;
- similar content: the SimHash (64 bits over jieba's words of the content and the address) of the
  two tickets shares one of its four 16-bit bands exactly. Two fingerprints within 3 bits of each
  other always share a band (pigeonhole), so the store finds them by an index on the bands instead
  of comparing every recent ticket.
Each candidate is then scored by the word overlap (Jaccard) of the two texts, and by the reasons.

Pure: the words come in already segmented (segment.Segmenter), tickets as read by the store.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .domain import Ticket

BITS = 64
BANDS = 4
BAND_BITS = BITS // BANDS


@dataclass(frozen=True)
class DuplicatePolicy:
    """config/duplicates.yaml."""
    days: int = 7
    limit: int = 10
    min_similarity: float = 0.3     # content alone makes a candidate from this Jaccard similarity up
    pool: int = 200                 # tickets read per query at most


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


def simhash(words: Iterable[str]) -> str | None:
    """The text's 64-bit SimHash as 16 hex digits (None for a text without words)."""
    counts = Counter(words)
    if not counts:
        return None
    vector = [0] * BITS
    for word, weight in counts.items():
        h = _hash(word)
        for bit in range(BITS):
            vector[bit] += weight if h >> bit & 1 else -weight
    value = sum(1 << bit for bit in range(BITS) if vector[bit] > 0)
    return f"{value:016x}"


def bands(fingerprint: str | None) -> list[str]:
    """The fingerprint's four 16-bit bands, each tagged with its position ("0:ab12")."""
    if not fingerprint:
        return []
    return [f"{i}:{fingerprint[i * 4:(i + 1) * 4]}" for i in range(BANDS)]


def distance(a: str | None, b: str | None) -> int | None:
    if not a or not b:
        return None
    return (int(a, 16) ^ int(b, 16)).bit_count()


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
                    "similarity": similarity, "simhash_distance": distance(draft.fingerprint, ticket.fingerprint),
                    "score": round(score, 3),
                    "lead_unit": {"id": ticket.lead_unit.id, "name": ticket.lead_unit.name} if ticket.lead_unit else None})
    out.sort(key=lambda c: (c["score"], c["created_at"]), reverse=True)
    return out[:policy.limit]
