"""mongo.newest_first: a list read one time window at a time, newest first (issue 13)."""
import random
from datetime import UTC, datetime, timedelta

from hotline_common.mongo import ARCHIVE_FLOOR, newest_first

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def archive(n=300, seed=1):
    rng = random.Random(seed)
    docs = [{"_id": f"t{i:04d}", "at": NOW - timedelta(seconds=rng.randrange(0, 400 * 86400)), "k": i % 7}
            for i in range(n)]
    docs += [{"_id": "x1", "at": NOW - timedelta(days=3)}, {"_id": "x2", "at": NOW - timedelta(days=3)},
             {"_id": "old", "at": datetime(1999, 5, 1, tzinfo=UTC)}]  # a tie, and one below the archive floor
    return docs


class Store:
    """fetch(lo, hi, inclusive) over a list, counting the windows and the documents they return."""

    def __init__(self, docs):
        self.docs, self.windows, self.read = docs, [], 0

    def fetch(self, lo, hi, inclusive):
        self.windows.append((lo, hi, inclusive))
        out = [d for d in self.docs if (lo is None or d["at"] >= lo)
               and (hi is None or (d["at"] <= hi if inclusive else d["at"] < hi))]
        self.read += len(out)
        return out


def expected(docs, keep=lambda d: True, before=None, since=None, until=None):
    out = [d for d in docs if keep(d) and (since is None or d["at"] >= since) and (until is None or d["at"] < until)
           and (before is None or (d["at"], d["_id"]) < before)]
    return sorted(out, key=lambda d: (d["at"], d["_id"]), reverse=True)


def test_pages_walked_with_cursors_are_the_whole_list_newest_first_and_ties_split_by_id():
    docs = archive()
    store, pages, before = Store(docs), [], None
    while True:
        page, _ = newest_first(store.fetch, 21, field="at", before=before, now=NOW)
        pages.extend(page[:20])
        if len(page) <= 20:
            break
        before = (page[19]["at"], page[19]["_id"])
    assert [d["_id"] for d in pages] == [d["_id"] for d in expected(docs)]
    assert pages[-1]["_id"] == "old"  # below the floor: the last window is open-ended


def test_what_the_index_cannot_say_is_kept_out_and_since_until_bound_the_walk():
    docs = archive()
    keep = lambda d: d.get("k") == 3
    since, until = NOW - timedelta(days=200), NOW - timedelta(days=10)
    store = Store(docs)
    page, _ = newest_first(store.fetch, 500, field="at", keep=keep, since=since, until=until, now=NOW)
    assert page == expected(docs, keep, since=since, until=until)
    assert all(lo is not None and lo >= since for lo, _, _ in store.windows)
    assert all(hi is not None and hi <= until for _, hi, _ in store.windows)


def test_a_page_reads_about_a_page_not_the_archive():
    recent = [{"_id": f"r{i:03d}", "at": NOW - timedelta(minutes=i)} for i in range(100)]
    old = [{"_id": f"o{i:05d}", "at": NOW - timedelta(days=30, minutes=i)} for i in range(20000)]
    store = Store(recent + old)
    page, span = newest_first(store.fetch, 21, field="at", now=NOW)
    assert [d["_id"] for d in page] == [f"r{i:03d}" for i in range(21)]
    assert store.read <= 40 and len(store.windows) <= 3
    # the width that filled the page starts the next request: one window
    again = Store(recent + old)
    newest_first(again.fetch, 21, field="at", now=NOW, span=span)
    assert len(again.windows) == 1 and again.read <= 30


def test_an_empty_or_sparse_list_costs_a_few_windows_not_one_per_quarter_hour():
    docs = [{"_id": "a", "at": NOW - timedelta(days=300)}, {"_id": "b", "at": NOW - timedelta(days=2000)}]
    store = Store(docs)
    page, _ = newest_first(store.fetch, 21, field="at", now=NOW)
    assert [d["_id"] for d in page] == ["a", "b"]
    assert len(store.windows) <= 12
    assert store.windows[-1][0] is None or store.windows[-1][0] <= ARCHIVE_FLOOR


def test_the_first_window_has_no_upper_bound_so_a_clock_ahead_of_now_loses_nothing():
    docs = [{"_id": "future", "at": NOW + timedelta(days=40)}, {"_id": "now", "at": NOW}]
    page, _ = newest_first(Store(docs).fetch, 5, field="at", now=NOW)
    assert [d["_id"] for d in page] == ["future", "now"]


def test_a_cursor_at_a_tie_continues_with_the_smaller_id():
    docs = archive()
    page, _ = newest_first(Store(docs).fetch, 3, field="at", before=(NOW - timedelta(days=3), "x2"), now=NOW)
    assert page[0]["_id"] == "x1"
