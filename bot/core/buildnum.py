"""Exchange build numbers as scanners see them.

Accepted spellings (surrounding whitespace ignored):

* ``15.1.2375.37``, zero-padded ``15.01.2375.037`` (the long format of Microsoft's tables),
* three parts ``15.1.2375`` (OWA resource paths) and two parts ``15.1``,
* ``Exchange/15.01.2176.009`` (``X-ServerApplication``), ``Version 15.1 (Build 2375.37)``
  (``AdminDisplayVersion``), and a leading ``v``.

Anything else is not a build: :func:`parse_build` raises :class:`BuildParseError` with a short
reason a user can read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from packaging.version import Version

MAX_INPUT = 64  # longer input is garbage, not a build

_DOTTED = re.compile(r"\d{1,5}(?:\.\d{1,5}){1,3}", re.ASCII)
_ADMIN_DISPLAY = re.compile(r"version\s+(\d{1,2})\.(\d{1,2})\s*\(\s*build\s+(\d{1,5})\.(\d{1,5})\s*\)", re.I | re.ASCII)
_PREFIXES = ("exchange/", "version ", "build ", "v")


class BuildParseError(ValueError):
    """The text is not an Exchange build number."""


@dataclass(frozen=True, order=True)
class Build:
    """A build with 2 to 4 known parts; ``str()`` gives the normalised short form."""

    parts: tuple[int, ...]

    def __post_init__(self) -> None:
        if not 2 <= len(self.parts) <= 4:
            raise ValueError(f"a build has 2 to 4 parts, not {len(self.parts)}")

    @property
    def precision(self) -> int:
        return len(self.parts)

    @property
    def major(self) -> int:
        return self.parts[0]

    @property
    def minor(self) -> int:
        return self.parts[1]

    @property
    def third(self) -> int | None:
        return self.parts[2] if len(self.parts) > 2 else None

    @property
    def online(self) -> bool:
        """A build only Exchange Online runs (15.20 and up); every other build is on-premises."""
        return self.major == 15 and self.minor >= 20

    def prefix(self, n: int) -> tuple[int, ...]:
        return self.parts[:n]

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)

    @classmethod
    def of(cls, text: str) -> Build:
        """Parse a build known to be well formed (knowledge data, tests)."""
        return cls(tuple(int(p) for p in text.strip().split(".")))


def parse_build(text: object) -> Build:
    """Parse one build string; raise :class:`BuildParseError` for anything that is not one."""
    if not isinstance(text, str):
        raise BuildParseError("not a string")
    raw = text.strip()
    if not raw:
        raise BuildParseError("empty input")
    if len(raw) > MAX_INPUT:
        raise BuildParseError(f"too long for a build number ({len(raw)} characters)")
    m = _ADMIN_DISPLAY.fullmatch(raw)
    if m:
        return _checked(tuple(int(g) for g in m.groups()), raw)
    lowered = raw.lower()
    for prefix in _PREFIXES:
        if lowered.startswith(prefix):
            raw = raw[len(prefix) :].strip()
            break
    if not _DOTTED.fullmatch(raw):
        raise BuildParseError("not a build number (expected e.g. 15.1.2375.37)")
    # packaging normalises the zero-padded long form (15.01.2375.037) to its release tuple.
    return _checked(Version(raw).release, text)


def _checked(parts: tuple[int, ...], original: str) -> Build:
    major, minor = parts[0], parts[1]
    if not 4 <= major <= 99 or minor > 99:
        raise BuildParseError(f"{original.strip()!r} is outside any Exchange version range")
    return Build(parts)
