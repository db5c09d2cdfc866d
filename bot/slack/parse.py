"""Strict parsing of slash-command text. Pure: text in, a command or a usage problem out.

Slack rewrites what the user typed before it reaches the app (the manifest sets ``should_escape:
true`` so the rewriting is predictable): ``&``, ``<``, ``>`` arrive as entities, links as
``<https://owa.example.com>`` or ``<http://mail.example.com|mail.example.com>`` (a bare host name
that Slack turned into a link: the label is what the user typed), mentions as ``<@U123|alice>``,
``<#C123|general>``, ``<!channel>`` and ``<!subteam^S123>``, e-mail addresses as
``<mailto:a@example.com|a@example.com>``. Links and e-mail addresses are unwrapped (an address
means "discover its domain's Exchange servers"); mentions are refused with a message that says what
to type instead. Everything else goes through the CLI's own
:func:`~bot.probe.targets.parse_target` (the same rules, so the same SSRF guard follows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from bot.core.catalog import Catalog
from bot.core.exposure import RegionError, resolve_region
from bot.core.region_names import suggestion_text
from bot.probe.targets import Target, TargetError, parse_target

MAX_TEXT = 300  # characters of command text; a target is at most 300 (targets.MAX_TARGET)
ECHO = 80  # characters of the user's text quoted back in a usage message
_MARKUP = re.compile(r"<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
HELP_WORDS = frozenset({"help", "-h", "--help", "?", "usage"})


@dataclass(frozen=True)
class Usage:
    """Not a command: ``problem`` says why (it may quote user text: escape it when rendering)."""

    problem: str
    reason: str  # short, for the audit trail: empty, too_long, mention, email, target, ...


@dataclass(frozen=True)
class Help:
    """A command asking for its help text (``/exchcheck help``)."""


@dataclass(frozen=True)
class CheckCommand:
    """``/exchcheck HOST`` (or a mail address or domain to discover)."""

    target: Target
    address: str | None = None  # a mail address was given: ``target`` is its domain, to be discovered


@dataclass(frozen=True)
class ExposureCommand:
    """``/exposure REGION [chart]``."""

    region: str  # as resolved: "eu", "de,fr", ...
    chart: bool = False  # "/exposure eu chart": also upload the trend chart


@dataclass(frozen=True)
class WatchCommand:
    """``/exchwatch add|remove HOST`` or ``/exchwatch list [PAGE]``."""

    action: Literal["add", "remove", "list"]
    target: Target | None = None
    page: int = 1  # "/exchwatch list 2"


def echo(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= ECHO else flat[: ECHO - 1] + "…"


def _unwrap(item: str) -> str | Usage:
    """One ``<...>`` markup item -> the text the user meant, or a refusal."""
    if item[:1] in ("@", "#", "!"):
        return Usage(
            "mentions of people, channels or groups are not hosts: give the server's host name, e.g. mail.example.com",
            "mention",
        )
    if item.lower().startswith("mailto:"):  # an e-mail address: its domain's servers are discovered
        return item.partition("|")[2] or item[len("mailto:") :]
    url, _, label = item.partition("|")
    # The URL part is what Slack parsed (the label may be cut or reformatted). Slack links a bare
    # host name as http://NAME|NAME: the user typed no scheme, so none is kept; a typed http:// stays
    # and is refused by parse_target.
    scheme, sep, rest = url.partition("://")
    if sep and label and scheme.lower() == "http" and not label.lower().startswith("http://"):
        return rest.rstrip("/")
    return url


def tokens(text: str | None) -> list[str] | Usage:
    """Split command text into words, with Slack's markup and entities undone."""
    raw = (text or "").strip()
    if len(raw) > MAX_TEXT:
        return Usage(f"that text is too long ({len(raw):,} characters; at most {MAX_TEXT})", "too_long")
    if _CONTROL.search(raw):
        return Usage("the text contains control characters", "control")
    pieces: list[str] = []
    pos = 0
    for m in _MARKUP.finditer(raw):
        pieces.append(raw[pos : m.start()])
        unwrapped = _unwrap(m.group(1))
        if isinstance(unwrapped, Usage):
            return unwrapped
        pieces.append(unwrapped)
        pos = m.end()
    pieces.append(raw[pos:])
    joined = "".join(pieces)
    # Slack sends &, <, > as entities; undo them (after the markup, so a typed "&lt;" stays literal-ish).
    joined = joined.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return joined.split()


FLAG_HELP = {
    "--allow-private": (
        "Slack commands take no flags: internal hosts can be checked only if the exchbot administrator "
        "sets EXCHBOT_ALLOW_PRIVATE=1"
    ),
    "--refresh": (
        "Slack commands take no flags: /exposure answers from a snapshot at most a few hours old "
        "(the snapshot's time is on the card); a fresh one is taken with `exchbot exposure REGION --refresh` "
        "on the command line"
    ),
    "--json": "Slack commands take no flags: JSON output is for the command line (`exchbot ... --json`)",
}


def _flag(words: list[str], command: str, allowed: frozenset[str] = frozenset()) -> Usage | None:
    """A helpful answer for the first command-line flag typed into a Slack command (None if none)."""
    for w in words:
        if w.startswith("--") and w.lower() not in HELP_WORDS and w.lower() not in allowed:
            flag = w.lower().split("=", 1)[0]
            text = FLAG_HELP.get(flag, f"Slack commands take no flags ({echo(w)!r}): type `{command} help`")
            return Usage(text, "flag")
    return None


def _target(word: str) -> Target | Usage:
    try:
        return parse_target(word)
    except TargetError as exc:
        return Usage(f"{echo(word)!r}: {exc}", "target")


def parse_check(text: str | None) -> CheckCommand | Help | Usage:
    words = tokens(text)
    if isinstance(words, Usage):
        return words
    if not words:
        return Usage("which server? Give one host name, IP address, host:port or https:// URL", "empty")
    if len(words) == 1 and words[0].lower() in HELP_WORDS:
        return Help()
    flagged = _flag(words, "/exchcheck")
    if flagged:
        return flagged
    if len(words) > 1:
        return Usage(f"one server per command (got {len(words)} words: {echo(' '.join(words))!r})", "too_many")
    if "@" in words[0] and "://" not in words[0]:
        return _address(words[0])
    found = _target(words[0])
    return found if isinstance(found, Usage) else CheckCommand(found)


def _address(word: str) -> CheckCommand | Usage:
    """A mail address: check its domain's Exchange servers (found by discovery)."""
    from bot.core.discover import QueryError
    from bot.services.discover import parse_query

    try:
        query = parse_query(word)
    except QueryError as exc:
        return Usage(str(exc), "email")
    return CheckCommand(parse_target(query.domain), query.address)


def parse_exposure(text: str | None, catalog: Catalog) -> ExposureCommand | Help | Usage:
    words = tokens(text)
    if isinstance(words, Usage):
        return words
    if len(words) == 1 and words[0].lower() in HELP_WORDS:
        return Help()
    flagged = _flag(words, "/exposure", frozenset({"--chart"}))
    if flagged:
        return flagged
    chart = len(words) > 1 and words[-1].lower() in ("chart", "graph", "trend", "--chart")
    if chart:
        words = words[:-1]
    # "de, fr" and "de fr" mean "de,fr"
    items = [x for w in words for x in w.split(",") if x]
    try:
        name, _codes = resolve_region(",".join(items), catalog)
    except RegionError as exc:
        if not items:
            return Usage(f"which region? {exc}", "empty")
        return Usage(_did_you_mean(words, items, catalog) or str(exc), "region")
    return ExposureCommand(name, chart)


def _did_you_mean(words: list[str], items: list[str], catalog: Catalog) -> str | None:
    """``exposure germany`` -> "did you mean `de`?" (country names, also of several words)."""
    hint = suggestion_text(" ".join(items), catalog, example="/exposure {}")
    return f"unknown region {echo(' '.join(words))!r}: {hint}" if hint else None


def parse_watch(text: str | None) -> WatchCommand | Help | Usage:
    words = tokens(text)
    if isinstance(words, Usage):
        return words
    if not words or (len(words) == 1 and words[0].lower() in HELP_WORDS):
        return Help()
    flagged = _flag(words, "/exchwatch")
    if flagged:
        return flagged
    verb = words[0].lower()
    verb = {"rm": "remove", "del": "remove", "delete": "remove", "ls": "list"}.get(verb, verb)
    if verb == "list":
        if len(words) == 2 and words[1].isascii() and words[1].isdigit() and len(words[1]) < 5:
            return WatchCommand("list", page=max(1, int(words[1])))
        if len(words) > 1:
            return Usage("`list` takes no host, only a page number (`/exchwatch list 2`)", "too_many")
        return WatchCommand("list")
    if verb not in ("add", "remove"):
        return Usage(f"unknown action {echo(words[0])!r}: use add, remove or list", "action")
    if len(words) != 2:
        return Usage(f"`{verb}` takes exactly one host (got {len(words) - 1})", "too_many" if words[2:] else "empty")
    found = _target(words[1])
    if isinstance(found, Usage):
        return found
    return WatchCommand("add" if verb == "add" else "remove", found)
