"""One HTTP answer as the fingerprinting reads it (:class:`Response`), and :func:`clip`, which bounds
any value from a hostile host before it is kept as evidence. Pure.

Apart from bot/core/fingerprint.py because the HTTP client builds these before anything is
fingerprinted: a check loads the fingerprinting once its first requests are out.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_VALUE = 200  # characters of any header value kept as evidence


@dataclass(frozen=True)
class Response:
    """What one GET returned; ``headers`` names are lower-case, in arrival order."""

    path: str
    url: str
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    truncated: bool = False
    error: str | None = None
    redirects: tuple[str, ...] = ()
    # What of the answer was not read, fit for a user: a cap cut it (headers, body, redirects) or it
    # stopped early (deadline, broken connection). None: the whole answer was read.
    lost: str | None = None
    earlier: tuple[Response, ...] = ()  # the redirect answers followed to reach this one

    @property
    def answered(self) -> bool:
        """Something came back (the final page, or a redirect on the way to it)."""
        return self.status is not None or any(e.status is not None for e in self.earlier)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for k, v in self.headers:
            if k == name:
                return v
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]


def clip(value: str, limit: int = MAX_VALUE) -> str:
    """Bound a value from a hostile host and make it printable."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    if not value.isprintable():
        value = "".join(ch if ch.isprintable() else "?" for ch in value)
    return value
