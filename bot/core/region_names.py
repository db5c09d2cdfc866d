"""Country names typed where a code is expected: ``germany`` -> ``de``. Pure."""

from __future__ import annotations

import difflib
import unicodedata

from bot.core.catalog import Catalog

# Common names that differ from the knowledge base's (UN M49) names.
_EXTRA = {
    "usa": "US",
    "united states": "US",
    "america": "US",
    "uk": "GB",
    "united kingdom": "GB",
    "britain": "GB",
    "great britain": "GB",
    "england": "GB",
    "russia": "RU",
    "south korea": "KR",
    "korea": "KR",
    "vietnam": "VN",
    "iran": "IR",
    "syria": "SY",
    "taiwan": "TW",
    "czechia": "CZ",
    "czech republic": "CZ",
    "holland": "NL",
    "the netherlands": "NL",
    "turkey": "TR",
    "bolivia": "BO",
    "venezuela": "VE",
    "tanzania": "TZ",
    "moldova": "MD",
    "laos": "LA",
}


def _fold(text: str) -> str:
    """Lower case, accents and punctuation dropped: ``Côte d'Ivoire`` -> ``cote divoire``."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return " ".join("".join(c for c in plain if c.isalnum() or c.isspace()).split())


def _names(catalog: Catalog) -> dict[str, str]:
    names = {_fold(name): code for code, name in catalog.countries.items()}
    for name, code in _EXTRA.items():
        if code in catalog.countries:
            names.setdefault(_fold(name), code)
    return names


def country_code(text: str, catalog: Catalog) -> str | None:
    """The ISO code of a country typed by name (``Germany``, ``united kingdom``), or None."""
    return _names(catalog).get(_fold(text))


def suggest(text: str, catalog: Catalog, limit: int = 3) -> list[str]:
    """Lower-case codes of the countries whose names are closest to ``text`` (``germny`` -> ``de``)."""
    names = _names(catalog)
    exact = names.get(_fold(text))
    if exact:
        return [exact.lower()]
    close = difflib.get_close_matches(_fold(text), list(names), n=limit, cutoff=0.75)
    return [names[c].lower() for c in close]


def region_suggestion(text: str, catalog: Catalog) -> str | None:
    """For a region text that did not resolve (``germany``, ``united kingdom``, ``de germny``): the
    region text that probably was meant (``de``, ``gb``, ``de,de``), or None."""
    words = text.replace(",", " ").split()
    if not words:
        return None
    whole = suggest(" ".join(words), catalog)
    if whole and len(words) > 1:
        return whole[0]
    codes: list[str] = []
    for item in words:
        if item.lower() in catalog.regions or item.upper() in catalog.countries:
            codes.append(item.lower())
            continue
        found = suggest(item, catalog)
        if not found:
            return None
        codes.append(found[0])
    return ",".join(dict.fromkeys(codes))


def suggestion_text(text: str, catalog: Catalog, *, example: str) -> str | None:
    """``did you mean `de` (Germany)? Try `/exposure de``` (``example`` with ``{}`` for the codes)."""
    codes = region_suggestion(text, catalog)
    if not codes:
        return None
    names = ", ".join(catalog.countries.get(c.upper(), c) for c in codes.split(","))
    return f"did you mean `{codes}` ({names})? Try `{example.format(codes)}`"
