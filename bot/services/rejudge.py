"""Judge the latest build of every stored host again when the knowledge in use changed (no probing).

Design: re-judgements are persisted (table ``rejudgements``, one row per check and knowledge
version), not recomputed on every read. The row records when the new knowledge was first applied
to the host, so ``exchbot changes --since``, the digest window and the watchlist views report a
re-judgement like a change seen on the wire: from the moment it happened, once per window, and a
later check or knowledge version supersedes it. A row is written even when nothing changed, so the
work is done once per host and version.
"""

from __future__ import annotations

import datetime as dt
import logging

from bot.core.assess import assess_build
from bot.core.buildnum import BuildParseError, parse_build
from bot.core.catalog import Catalog
from bot.core.rejudge import Rejudgement, rejudge
from bot.store import Store

log = logging.getLogger(__name__)


def rejudge_stored(store: Store, catalog: Catalog, now: dt.datetime) -> list[Rejudgement]:
    """Re-judge every host whose latest check was judged under other knowledge; record and return
    the re-judgements made now (those that changed nothing included)."""
    made: list[Rejudgement] = []
    for p in store.pending_rejudgements(catalog.version):
        try:
            build = parse_build(p.build)
        except BuildParseError:
            log.warning("stored build %r of %s does not parse; not re-judged", p.build[:40], p.host)
            continue
        fresh = assess_build(build, catalog, now.date())
        made.append(
            rejudge(
                host=p.host,
                check_id=p.check_id,
                build=p.build,
                checked_at=p.checked_at,
                old_version=p.old_version,
                old_statuses=p.statuses,
                fresh=fresh,
                catalog=catalog,
                judged_at=now,
            )
        )
    store.record_rejudgements(made, now)
    return made
