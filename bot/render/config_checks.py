"""Config-dependent CVEs as what to verify on the server, not a list of ids. Pure.

A fix that needs configuration is never reported as patched (bot.core.verdicts, rule 5). The card
says which settings decide it, from the knowledge base's note for each CVE, and points to
Microsoft's Exchange Health Checker, which reads those settings on the server.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.core.model import CveVerdict
from bot.render.blocks import escape

# (words in the knowledge base's configuration note, what to verify), in the order shown.
TOPICS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("extended protection",), "Extended Protection"),
    (("download domains",), "Download Domains"),
    (("serialized data signing",), "serialized data signing"),
    (("setting override",), "no setting override switches a fix off"),
    (("/prepareschema", "/preparedomain", "/prepareall"), "Active Directory prepared after the update"),
    (("tokencachemodule",), "IIS TokenCacheModule removed or the Windows update installed"),
    (("hybrid",), "the dedicated Exchange hybrid application"),
)
HEALTH_CHECKER = "verify with Microsoft's Exchange Health Checker (HealthChecker.ps1)"


def config_topics(verdicts: Sequence[CveVerdict]) -> list[str]:
    """What to verify, one entry per topic, in a fixed order; unmatched notes as "other settings"."""
    found: list[str] = []
    other = False
    for v in verdicts:
        reason = v.reason.lower()
        hits = [label for words, label in TOPICS if any(w in reason for w in words)]
        if not hits:
            other = True
        found.extend(h for h in hits if h not in found)
    ordered = [label for _w, label in TOPICS if label in found]
    return [*ordered, "other settings (see the CVE notes)"] if other else ordered


def config_summary(verdicts: Sequence[CveVerdict]) -> str:
    """One card line: ``Verify the configuration (N CVEs depend on it): A, B; verify with …``."""
    n = len(verdicts)
    topics = ", ".join(config_topics(verdicts))
    noun = "CVE depends" if n == 1 else "CVEs depend"
    return f":large_yellow_circle: *Verify the configuration* ({n} {noun} on it): {escape(topics)}; {HEALTH_CHECKER}."
