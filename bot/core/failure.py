"""The reason a check failed, said once (pure): the prober's errors start with "could not check:",
and the views that say "could not be checked" or "could not check" themselves add only the reason."""

from __future__ import annotations

import re

_PREFIXES = re.compile(r"^(?:\s*(?:could not check|could not be checked)\s*:\s*)+", re.IGNORECASE)


def failure_reason(error: str | None) -> str:
    """The reason alone, with any number of leading "could not check:" removed."""
    reason = _PREFIXES.sub("", error or "").strip()
    return reason or "no answer"
