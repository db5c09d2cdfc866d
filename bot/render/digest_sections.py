"""The digest's change sections in the order they are shown: the :class:`~bot.core.digest.Digest`
attribute and its title. Shared by the text/Block Kit renderer (bot/render/digest.py) and the JSON
one (bot/render/json_out/history.py), which thereby does not load the digest code: the JSON of a
single check is rendered through the same package."""

from __future__ import annotations

SECTIONS: tuple[tuple[str, str], ...] = (
    ("patched", "Patched"),
    ("newly_vulnerable", "Newly vulnerable"),
    ("became_eol", "Became end-of-life"),
    ("build_changed", "Build changed"),
    ("unreachable", "Went unreachable"),
    ("reachable_again", "Reachable again"),
    ("flapped", "Flapped (down and back up)"),
)
