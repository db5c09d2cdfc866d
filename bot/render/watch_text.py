"""``watch list`` and ``watch run`` as text (their JSON: :mod:`bot.render.json_out`). Pure functions of
watch states and changes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

from bot.core.changes import HostChange
from bot.core.counts import point_counts_text
from bot.core.rejudge import Rejudgement
from bot.core.watch import WatchState


def _day(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M")


def verdict_text(w: WatchState) -> str:
    """``host: 15.2.1544.11 (Exchange 2019 CU14 Apr24HU); EOL; vulnerable: ProxyShell; 12 CVEs (3 KEV); ...``"""
    if w.latest is None:
        return f"{w.host}: never checked (exchbot watch run)"
    parts: list[str] = []
    p = w.last_verdict
    if p is None:
        parts.append(f"never reachable ({w.latest.error or 'no answer'})")
    else:
        parts.append(p.label())
        parts.append({True: "EOL", False: "supported", None: "EOL unknown"}[p.eol])
        fams = w.vulnerable_families
        parts.append(f"vulnerable: {', '.join(fams)}" if fams else "no vulnerable family")
        if cves := point_counts_text(p):  # the last verdict's stored counts, as every stored view says them
            parts.append(cves)
    parts.append(f"last checked {_day(w.latest.checked_at)}")
    if w.unreachable_since is not None and p is not None:
        parts.append(f"unreachable since {_day(w.unreachable_since)} ({w.latest.error or 'no answer'})")
    flag = "AT RISK " if w.at_risk else ""
    return f"{flag}{w.host}: " + "; ".join(parts)


def watch_list_lines(rows: Sequence[WatchState], rejudged: Mapping[str, Rejudgement | None]) -> list[str]:
    if not rows:
        return ["the watchlist is empty: exchbot watch add TARGET..."]
    risky = sum(1 for w in rows if w.at_risk)
    out = [f"{len(rows)} watched, {risky} at risk"]
    for w in rows:
        out.append(verdict_text(w))
        r = rejudged.get(w.host)
        if r is not None:
            out.append(f"  re-judged with the knowledge of {r.knowledge_date}: {r.summary}")
    return out


def change_lines(changes: Sequence[HostChange], checked: int) -> list[str]:
    """What ``watch run`` found changed since the previous run."""
    if not checked:
        return []
    if not changes:
        return [f"nothing changed since the previous run ({checked} hosts re-checked)"]
    out = [f"changed since the previous run ({len(changes)}):"]
    out += [f"  {c.host}: {c.summary}" for c in changes]
    return out
