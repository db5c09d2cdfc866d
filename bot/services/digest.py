"""Compose the daily digest from the history, and post it once per channel and day.

Posting claims a unique (channel, day) row first (:meth:`Store.claim_digest`), so two processes
racing at the same moment produce one post; a failed post marks the claim failed and can be
retried. The chart goes into the digest's thread with ``files_upload_v2``; a chart failure is
logged and does not undo the digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.core.catalog import Catalog
from bot.core.digest import Digest, RegionTrend, build_digest, region_trend
from bot.core.exposure import RegionError, resolve_region
from bot.core.exposure_model import Snapshot
from bot.core.staleness import DEFAULT_MAX_AGE_DAYS, staleness
from bot.render.digest import digest_message
from bot.services.rejudge import rejudge_stored
from bot.services.watch import states
from bot.store import Store

log = logging.getLogger(__name__)
WINDOW = dt.timedelta(hours=24)
HISTORY_FOR_LAST_CHANGE = 500
DEFAULT_UNREACHABLE_DAYS = 3  # EXCHBOT_UNREACHABLE_DAYS


class DigestPostFailed(RuntimeError):
    pass


class ChatPoster(Protocol):
    """Where the digest goes: the two Slack Web API calls it makes. ``slack_sdk.WebClient`` (built by
    :mod:`bot.wiring`) fits as it is; tests may hand in anything with these two methods."""

    def chat_postMessage(self, *, channel: str, **kwargs: Any) -> Any: ...

    def files_upload_v2(self, **kwargs: Any) -> Any: ...


class DrawnChart(Protocol):
    """A PNG chart to upload (``bot.render.charts.Chart`` fits)."""

    @property
    def png(self) -> bytes: ...
    @property
    def title(self) -> str: ...


# Draws the digest's charts: (digest, stored snapshots, catalog or None, today) -> PNG charts.
# ``bot.render.charts.digest_charts`` is the real one, handed in by :mod:`bot.wiring`: services
# import no plotting library (tests/test_architecture.py checks it).
DrawCharts = Callable[[Digest, Sequence[Snapshot], Catalog | None, dt.date], Sequence[DrawnChart]]


@dataclass(frozen=True)
class PostOutcome:
    """Whether the digest was posted to a channel, and why not if it was not."""

    posted: bool
    reason: str
    ts: str | None = None
    chart_uploaded: bool = False


def compose(
    store: Store,
    catalog: Catalog,
    clock: Clock,
    regions: tuple[str, ...],
    tz: str = "UTC",
    *,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    unreachable_days: int = DEFAULT_UNREACHABLE_DAYS,
) -> Digest:
    """Today's digest. Hosts judged under other knowledge are re-judged first (no probing); what
    that changed for watched hosts in the window is its own section."""
    now = clock.now()
    day = now.astimezone(ZoneInfo(tz)).date()
    since = now - WINDOW
    watch = states(store, HISTORY_FOR_LAST_CHANGE)
    watched = {w.host for w in watch}
    rejudge_stored(store, catalog, now)
    rejudged = tuple(r for r in store.rejudgements_since(since) if r.host in watched)
    down_since = {w.host: w.unreachable_since for w in watch}
    never_reached = [w.host for w in watch if w.never_reachable]
    return build_digest(
        day=day,
        since=since,
        now=now,
        watch=watch,
        points=store.points_since(since),
        regions=trends(store, catalog, now, regions, since),
        rejudged=rejudged,
        knowledge_warning=staleness(catalog.data_date, now.date(), max_age_days).warning,
        unreachable_since=down_since,
        unreachable_days=unreachable_days,
        never_reached=never_reached,
    )


def trends(
    store: Store, catalog: Catalog, now: dt.datetime, regions: tuple[str, ...], since: dt.datetime | None
) -> list[RegionTrend]:
    snapshots = store.snapshots(limit=400)
    out = []
    for name in regions:
        try:
            region, codes = resolve_region(name, catalog)
        except RegionError:
            log.warning("digest region %r is not a region; skipped", name)
            continue
        trend = region_trend(snapshots, region, codes, catalog, now.date(), since)
        if trend is not None:
            out.append(trend)
    return out


def post(
    client: ChatPoster,
    channel: str,
    digest: Digest,
    store: Store,
    clock: Clock,
    *,
    catalog: Catalog | None = None,
    claimer: str | None = None,
    with_chart: bool = True,
    draw: DrawCharts | None = None,
) -> PostOutcome:
    """Post ``digest`` to ``channel`` unless this channel already got today's digest; with ``draw``
    (and ``with_chart``), its charts go into the digest's thread."""
    claimer = claimer or f"{socket.gethostname()}:{os.getpid()}"
    if not store.claim_digest(channel, digest.day, claimer, clock.now()):
        return PostOutcome(False, f"the digest for {digest.day} was already posted (or is being posted) in {channel}")
    try:
        resp = client.chat_postMessage(channel=channel, **digest_message(digest))
        ts = resp.get("ts")
    except Exception as exc:  # slack_sdk raises SlackApiError, urllib raises URLError: record either
        store.digest_failed(channel, digest.day, f"{type(exc).__name__}: {exc}")
        raise DigestPostFailed(f"posting the digest to {channel} failed: {exc}") from exc
    store.digest_posted(channel, digest.day, ts, clock.now())
    uploaded = False
    if with_chart and draw is not None:
        uploaded = _upload_chart(
            client, channel, ts, draw(digest, store.snapshots(limit=400), catalog, clock.now().date())
        )
    return PostOutcome(True, "posted", ts, uploaded)


def _upload_chart(client: ChatPoster, channel: str, ts: str | None, files: Sequence[DrawnChart]) -> bool:
    if not files:
        return False
    try:
        client.files_upload_v2(
            channel=channel,
            thread_ts=ts,
            initial_comment="Charts for today's digest",
            file_uploads=[
                {"content": c.png, "filename": f"exchbot-{i}.png", "title": c.title} for i, c in enumerate(files)
            ],
        )
    except Exception as exc:  # SlackApiError, or urllib's HTTPError from the upload step: the digest stands
        log.warning("chart upload to %s failed: %s", channel, type(exc).__name__)
        return False
    return True
