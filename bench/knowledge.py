"""Knowledge-base search benchmark (not a test): operators' search over N entries (R19, issue 12).

    .venv/bin/python bench/knowledge.py -n 10000 -q 400

Makes N published entries from the shipped examples (config/knowledge-base.yaml): each a seed entry
with its title and answer recombined with other entries' sentences and a numbered place, so the
vocabulary and document lengths look like a city's knowledge base rather than N copies. Then it
measures, in-process (no RPC, no store):
- `build_s`: building the BM25 index from nothing (jieba segmentation of every entry);
- `rebuild_s`: rebuilding after one entry changed (the words of the others are kept);
- search latency (`p50_ms`, `p95_ms`, `p99_ms`, `max_ms`) over Q realistic operator queries (the
  query's segmentation, BM25 over the postings, category and validity filters, top 10), with and
  without a category filter. Wall time and CPU time (`cpu_*`: the process's own, which a loaded
  machine does not inflate).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "libs"))

from hotline_common.testing import at  # noqa: E402
from services.intake.knowledge.domain import Entry  # noqa: E402
from services.intake.knowledge.search import KnowledgeIndex  # noqa: E402
from services.intake.knowledge.store import seed_entries  # noqa: E402
from services.intake.segment import Segmenter  # noqa: E402

NOW = at("2026-11-27T02:00:00Z")
TODAY = date(2026, 11, 27)
QUERIES = ["社保卡丢了怎么办", "公积金租房怎么取", "楼下KTV太吵", "孩子上小学要什么材料", "家里没水了", "路灯坏了找谁修",
           "开个体户要办什么证", "物业费太贵不合理", "老人坐公交免费吗", "暖气不热怎么办", "闻到煤气味", "老板拖欠工资",
           "驾照到期怎么换", "出租车绕路", "异地就医怎么报销", "低保怎么申请", "户口迁入需要什么", "小区违建举报",
           "电梯坏了困人", "网购退货"]
PLACES = ["铁东区", "铁西区", "立山区", "千山区", "海城市", "台安县", "岫岩县", "高新区", "经开区"]


def entries(n: int, seed: int = 12) -> list[Entry]:
    rng = random.Random(seed)
    base = seed_entries(REPO / "config", NOW)
    sentences = [s for e in base for s in e.current.answer.split("。") if s]  # type: ignore[union-attr]
    out = []
    for i in range(n):
        entry = base[i % len(base)]
        content = entry.current
        assert content is not None
        place = f"{rng.choice(PLACES)}第{i // len(base) + 1}号"
        extra = "。".join(rng.sample(sentences, 2))
        out.append(replace(entry, id=f"{entry.id}.{i}", published_revision=1, current=replace(
            content, title=f"{content.title}（{place}）", answer=f"{content.answer}{extra}。")))
    return out


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10000, help="entries")
    parser.add_argument("-q", type=int, default=400, help="queries timed")
    args = parser.parse_args()
    segmenter = Segmenter.from_config(REPO / "config")
    t0 = time.perf_counter()
    segmenter.words("预热")                                    # jieba's dictionary: once per process
    load_s = time.perf_counter() - t0
    docs = entries(args.n)
    index = KnowledgeIndex(segmenter)
    t0, c0 = time.perf_counter(), time.process_time()
    index.build(docs, 1)
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    changed = list(docs)
    changed[0] = replace(changed[0], published_revision=2,
                         current=replace(changed[0].current, answer=changed[0].current.answer + "（已更新）"))  # type: ignore[arg-type]
    t0, c0 = time.perf_counter(), time.process_time()
    index.build(changed, 2)
    rebuild_s, rebuild_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    result = {"entries": args.n, "jieba_load_s": round(load_s, 2), "build_s": round(build_s, 2),
              "build_cpu_s": round(build_cpu_s, 2), "rebuild_s": round(rebuild_s, 3),
              "rebuild_cpu_s": round(rebuild_cpu_s, 3), "terms": len(index._bm25.postings)}
    for label, category in (("all", None), ("category", "labor")):
        latencies, cpu = [], []
        for i in range(args.q):
            query = QUERIES[i % len(QUERIES)]
            t0, c0 = time.perf_counter(), time.process_time()
            hits = index.search(query, today=TODAY, category=category, limit=10)
            latencies.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            assert category or hits, query
        result[label] = {"p50_ms": round(statistics.median(latencies), 2), "p95_ms": round(percentile(latencies, 95), 2),
                         "p99_ms": round(percentile(latencies, 99), 2), "max_ms": round(max(latencies), 2),
                         "cpu_p50_ms": round(statistics.median(cpu), 2), "cpu_p95_ms": round(percentile(cpu, 95), 2),
                         "cpu_max_ms": round(max(cpu), 2)}
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
