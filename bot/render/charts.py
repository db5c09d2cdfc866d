"""PNG charts (matplotlib, headless): the exposure trend of a region and the watchlist's state.

Pure functions of their inputs (points in, PNG bytes out); the data they plot is returned with the
image so tests and captions can check it matches the snapshots.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers or CI

from matplotlib import dates as mdates
from matplotlib import pyplot as plt
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bot.core.catalog import Catalog
from bot.core.digest import Digest
from bot.core.exposure import summarise
from bot.core.exposure_model import Snapshot
from bot.core.watch import WatchState

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 100  # 800 x 450 pixels


@dataclass(frozen=True)
class TrendPoint:
    """One snapshot of a region's exposure, a point of the trend chart."""

    at: dt.datetime
    total: int
    eol: int
    vulnerable: int  # certainly vulnerable to at least one named family


@dataclass(frozen=True)
class Chart:
    """A drawn chart (PNG) and the data it plots, so captions and tests can check it."""

    png: bytes
    title: str
    points: tuple[TrendPoint, ...] = ()
    bars: tuple[tuple[str, int], ...] = ()


def trend_points(
    snapshots: Sequence[Snapshot], region: str, codes: frozenset[str], catalog: Catalog, today: dt.date
) -> tuple[TrendPoint, ...]:
    """One point per complete snapshot of the newest snapshot's mode, oldest first."""
    complete = sorted((s for s in snapshots if s.complete), key=lambda s: s.taken_at)
    if not complete:
        return ()
    mode = complete[-1].mode
    points = []
    for snap in complete:
        if snap.mode != mode:
            continue
        r = summarise(snap, region, codes, catalog, today)
        vulnerable = sum(b.count for b in r.by_build if any(s == "vulnerable" for s in b.families.values()))
        points.append(TrendPoint(snap.taken_at, r.total, r.eol, vulnerable))
    return tuple(points)


def exposure_trend(points: Sequence[TrendPoint], region: str, unit: str = "banners") -> Chart:
    title = f"Exchange exposure in {region}: Shodan snapshots"
    if len(points) == 1:
        title += " (one snapshot so far)"
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        xs = [float(mdates.date2num(p.at)) for p in points]  # type: ignore[no-untyped-call]
        for label, ys, style in (
            ("total", [p.total for p in points], "-o"),
            ("end-of-life", [p.eol for p in points], "-s"),
            ("vulnerable", [p.vulnerable for p in points], "-^"),
        ):
            ax.plot(xs, ys, style, label=label)
        ax.set_title(title)
        ax.set_xlabel("snapshot date (UTC)")
        ax.set_ylabel(f"Exchange servers ({unit})")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m-%d"))  # type: ignore[no-untyped-call]
        fig.autofmt_xdate()
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
        ax.set_ylim(bottom=0)
        if not points:
            ax.text(0.5, 0.5, "no snapshots yet", ha="center", va="center", transform=ax.transAxes)
        elif len(points) == 1:  # a day either side, not an axis spanning years around one point
            ax.set_xlim(xs[0] - 1, xs[0] + 1)
            ax.text(0.5, 0.9, "one snapshot so far", ha="center", va="center", transform=ax.transAxes)
        png = _png(fig)
    finally:
        plt.close(fig)
    return Chart(png, title, points=tuple(points))


def watchlist_state(states: Sequence[WatchState]) -> Chart:
    """How many watched hosts are at risk by their last verdict (unreachable now or not), with no
    known risk, unreachable (and not at risk when last seen) or never checked."""
    buckets = {"end-of-life or vulnerable": 0, "no known risk": 0, "unreachable": 0, "not checked yet": 0}
    for s in states:
        if s.latest is None:
            buckets["not checked yet"] += 1
        elif s.at_risk:
            buckets["end-of-life or vulnerable"] += 1
        elif not s.latest.answered:
            buckets["unreachable"] += 1
        else:
            buckets["no known risk"] += 1
    title = f"Watchlist: {len(states)} hosts"
    fig, ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        labels, values = list(buckets), list(buckets.values())
        ax.bar(labels, values, color=["#c0392b", "#27ae60", "#7f8c8d", "#bdc3c7"])
        ax.set_title(title)
        ax.set_xlabel("last verdict")
        ax.set_ylabel("hosts")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        for i, v in enumerate(values):
            ax.annotate(str(v), (i, v), ha="center", va="bottom")
        png = _png(fig)
    finally:
        plt.close(fig)
    return Chart(png, title, bars=tuple(buckets.items()))


def digest_charts(
    digest: Digest, snapshots: Sequence[Snapshot], catalog: Catalog | None, today: dt.date
) -> list[Chart]:
    """The digest's charts: the first region's exposure trend (with a catalog), the watchlist's state."""
    files = []
    if digest.regions and catalog is not None:
        trend = digest.regions[0]
        points = trend_points(snapshots, trend.latest.region, frozenset(trend.latest.countries), catalog, today)
        files.append(exposure_trend(points, trend.latest.region, trend.latest.unit))
    if digest.watch:
        files.append(watchlist_state(digest.watch))
    return files


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()
