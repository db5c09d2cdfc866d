"""Exposure snapshots: Shodan requests and credits, and deep-mode parsing speed.

1. Count mode against the fake Shodan API (real ``shodan`` client, limiter off): requests and query
   credits per snapshot with N known build paths, 2N, and the full knowledge base. Requests grow by
   one per known path (ratio 2N/N close to 2); credits stay 0. At Shodan's 1 request/s the request
   count is also the snapshot's duration in seconds.
2. Deep mode on 100,000 synthetic banners (shaped like the fake's, a quarter of them a second port of
   an IP seen before): banners parsed (X-OWA-Version in ``data`` and redirect hops, OWA paths in the
   HTML), de-duplicated by IP and classified per second, next to plain ``json.loads`` of the same
   banners (what any client must do) in the same run; peak memory of the tally (it keeps one small
   tuple per IP, never the banners).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

from bot.core.catalog import Catalog
from bot.core.exposure import summarise
from bot.core.exposure_model import Snapshot
from bot.exposure.client import ShodanClient
from bot.exposure.deep import DeepTally, estimate_credits
from bot.exposure.snapshot import build_paths, take_snapshot
from bot.knowledge import load_catalog
from bot.ratelimit import RateLimiter
from tests.fakes.shodan_api import FakeShodan, make_population

NOW = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)
DEEP_BANNERS = 100_000

SPEC: list[dict[str, Any]] = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "both", "count": 120},
    {"country": "FR", "build": "15.1.2242.12", "signal": "path", "count": 60},
    {"country": "US", "build": "15.2.1748.10", "signal": "redirect", "count": 80},
    {"country": "US", "build": "15.0.516.32", "signal": "path", "count": 30},
    {"country": "JP", "build": "15.2.2562.17", "signal": "path", "count": 40},
    {"country": "IT", "build": "14.3.513.0", "signal": "path", "count": 20},
    {
        "country": "GB",
        "build": "15.2.2562.37",
        "header_value": "15.02.2562.037",
        "path_build": "15.1.2507",
        "signal": "both",
        "count": 20,
    },
    {"country": None, "build": "15.1.2507.39", "signal": "header", "header_name": "x-owa-version", "count": 10},
    {"country": "CN", "build": "15.0.1497.26", "signal": "none", "count": 20},
    {"country": "NL", "build": "15.1.2507.39", "signal": "both", "ports": [443, 8443], "count": 50},
    {"country": "US", "non_exchange": True, "count": 100},
]


def _count_mode(catalog: Catalog) -> None:
    paths = build_paths(catalog)
    half = len(paths) // 2
    with FakeShodan(make_population(SPEC)) as fake:
        rows = []
        for label, subset in (
            (f"N={half}", paths[:half]),
            (f"2N={2 * half}", paths[: 2 * half]),
            (f"all={len(paths)}", paths),
        ):
            client = ShodanClient("bench-key", timeout=30, rps=0, api_url=fake.url, limiter=RateLimiter(0))
            spent_before = fake.credits_spent.get("bench-key", 0)
            t = time.perf_counter()
            # zero_min: a subset of paths may legitimately find nothing; the self-check is for whole snapshots
            snap = take_snapshot(client, catalog, now=lambda: NOW, paths=subset, zero_min=10**9)
            elapsed = time.perf_counter() - t
            credits = fake.credits_spent.get("bench-key", 0) - spent_before
            rows.append((label, snap.requests, credits, elapsed, snap.total))
        print("1. count mode (zero-credit snapshot), per snapshot:")
        print(f"   {'known paths':<12} {'requests':>9} {'credits':>8} {'at 1 req/s':>11} {'on fake':>9}")
        for label, req, cred, elapsed, _ in rows:
            print(f"   {label:<12} {req:>9} {cred:>8} {req:>9} s {elapsed:>7.2f} s")
        (_, r1, _, _, total), (_, r2, _, _, _) = rows[0], rows[1]
        print(
            f"   requests 2N/N = {r2 / r1:.2f} (ideal (1+2N)/(1+N) = {(1 + 2 * half) / (1 + half):.2f}): "
            "one request per known path, credits stay 0"
        )
        print(
            f"   the same {total} banners in deep mode would cost {estimate_credits(total)} credits "
            f"(ceil(total/100)); a region of 1,000,000 banners {estimate_credits(1_000_000):,}"
        )


def _templates() -> list[str]:
    banners = make_population([{**g, "count": max(1, int(g.get("count", 1)) // 10)} for g in SPEC])
    return [json.dumps(b) for b in banners if "OwaPage" in (b.get("http") or {}).get("html", "")]


def _stream(templates: list[str], n: int) -> Iterator[tuple[int, str]]:
    for i in range(n):
        yield i, templates[i % len(templates)]


def _ip(i: int) -> str:
    host = i - i % 4 if i % 4 == 3 else i  # every 4th banner: a second port of an IP already seen
    return f"2001:db8:{host >> 16:x}::{host & 0xFFFF:x}"


def _deep_mode(catalog: Catalog) -> None:
    templates = _templates()
    today = NOW.date()

    t = time.perf_counter()
    for _, raw in _stream(templates, DEEP_BANNERS):
        json.loads(raw)
    baseline = time.perf_counter() - t

    tally = DeepTally()
    t = time.perf_counter()
    for i, raw in _stream(templates, DEEP_BANNERS):
        banner = json.loads(raw)
        banner["ip_str"] = _ip(i)
        tally.add(banner)
    parsed = time.perf_counter() - t
    # Classification as the service does it: one verdict per distinct build, applied to its count.
    t = time.perf_counter()
    hosts, countries, unattributed, builds = tally.counts()
    snap = Snapshot(
        taken_at=NOW,
        query="bench",
        total=hosts,
        countries=countries,
        unattributed=unattributed,
        builds=builds,
        credits_used=estimate_credits(DEEP_BANNERS),
        requests=0,
        complete=True,
        knowledge_version=catalog.version,
        mode="deep",
    )
    world = summarise(snap, "world", catalog.regions["world"], catalog, today)
    classify = time.perf_counter() - t

    tracemalloc.start()
    mem_tally = DeepTally()
    for i, raw in _stream(templates, DEEP_BANNERS // 4):
        banner = json.loads(raw)
        banner["ip_str"] = _ip(i)
        mem_tally.add(banner)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    total = parsed + classify
    print(f"2. deep mode, {DEEP_BANNERS:,} banners ({len(templates)} templates, {hosts:,} distinct IPs):")
    print(f"   json.loads only                  {DEEP_BANNERS / baseline:>10,.0f} banners/s")
    print(f"   json.loads + parse + de-dup      {DEEP_BANNERS / parsed:>10,.0f} banners/s")
    print(
        f"   ... + classify and sum regions   {DEEP_BANNERS / total:>10,.0f} banners/s "
        f"= {baseline / total:.2f} x the json.loads rate"
    )
    print(
        f"   result: {world.total:,} hosts, {world.eol:,} EOL, {world.unknown_version:,} without a build, "
        f"{len(world.by_build)} builds"
    )
    per_host = peak / max(1, len(mem_tally.hosts))
    print(
        f"   tally peak memory for {DEEP_BANNERS // 4:,} banners: {peak / 1e6:.1f} MB "
        f"(~{per_host:.0f} bytes per IP; banners are not kept)"
    )
    print(
        f"   credits for this many banners: {estimate_credits(DEEP_BANNERS):,} "
        f"({math.ceil(DEEP_BANNERS / 100):,} pages of 100)"
    )


def main() -> None:
    catalog = load_catalog()
    _count_mode(catalog)
    _deep_mode(catalog)


if __name__ == "__main__":
    main()
