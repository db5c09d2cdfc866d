"""Targets: URL-form port 0 or empty is refused, control and bidi characters never reach a terminal,
``-f`` is read line by line with bounds (``-f /dev/zero`` ends at once)."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli.target_input import target_lines
from bot.probe.targets import TargetError, parse_target, plain_name
from tests.cli_proc import clean_env, exchbot

UNSAFE = [
    "a\x1b[2Jb.example",
    "mail\u202eexample.com",
    "x.example\u2066",
    "zero\u200bwidth.example",
    "a\u2028b.example",
]


@pytest.mark.parametrize(
    "text", ["https://h.example:0", "https://h.example:00000", "https://h.example:", "https://[2001:db8::1]:"]
)
def test_url_port_zero_or_empty_is_refused(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("https://h.example", "h.example"),
        ("https://h.example:8443/owa", "h.example:8443"),
        ("https://[2001:db8::1]:444", "[2001:db8::1]:444"),
    ],
)
def test_url_ports_still_work(text: str, key: str) -> None:
    assert parse_target(text).key == key


@pytest.mark.parametrize("text", [*UNSAFE, "https://h.example/\x1b[31mred"])
def test_control_and_bidi_characters_are_refused_and_shown_escaped(text: str) -> None:
    with pytest.raises(TargetError) as info:
        parse_target(text)
    message = str(info.value)
    assert all(c.isprintable() for c in message) and message.isascii()


def test_cli_never_echoes_raw_control_characters(tmp_path: Path) -> None:
    file = tmp_path / "targets.txt"
    # Only unsafe lines: each is skipped and named (escaped), and no valid line is left (exit 2).
    file.write_text("\n".join(UNSAFE) + "\n", encoding="utf-8")
    env = clean_env(EXCHBOT_DB=str(tmp_path / "x.db"))
    for args in (["check", "-f", str(file)], ["check", UNSAFE[0]], ["history", UNSAFE[1]], ["watch", "add", UNSAFE[0]]):
        proc = exchbot(*args, env=env)
        assert proc.returncode == 2, proc.stderr
        out = proc.stdout + proc.stderr
        assert "Traceback" not in out
        assert not any(c in out for c in "\x1b\u202e\u2066\u200b\u2028"), out
        assert "control or bidirectional characters" in out
    proc = exchbot("check", "https://h.example:00000", env=env)
    assert proc.returncode == 2 and "port 0 out of range" in proc.stderr


def test_dev_zero_ends_with_a_clear_error(tmp_path: Path) -> None:
    proc = exchbot("check", "-f", "/dev/zero", env=clean_env(EXCHBOT_DB=str(tmp_path / "x.db")), timeout=30)
    assert proc.returncode == 2
    assert "line 1 is longer than 4096 bytes" in proc.stderr and "Traceback" not in proc.stderr


def test_total_bound(tmp_path: Path) -> None:
    file = tmp_path / "many.txt"
    file.write_bytes(b"a.example # comment\n" * 100)
    with pytest.raises(click.UsageError, match="larger than"):
        list(target_lines(str(file), max_total=1000))
    assert list(target_lines(str(file)))[:2] == ["a.example", "a.example"]
    assert len(list(target_lines(str(file)))) == 100


def test_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(click.UsageError, match="cannot read"):
        list(target_lines(str(tmp_path / "nope.txt")))


def _idna_or_error(host: str) -> str | None:
    """What the idna library makes of ``host``: its lower-case A-label form, or None if it refuses."""
    import idna

    try:
        return idna.encode(host, uts46=True).decode("ascii").lower()
    except idna.IDNAError:
        return None


# Names near every rule of the fast path: hyphens at the ends and in positions 3-4 ("xn--"), empty
# labels, upper case, and labels and names at and past 63 and 253 characters.
_LABELS = st.one_of(
    st.text(alphabet="aAzZ09-", min_size=0, max_size=6),
    st.sampled_from(["xn--", "xn--bcher-kva", "ab--cd", "a" * 63, "a" * 64, "-a", "a-", "Mail", "0"]),
)
_NAMES = st.one_of(
    st.lists(_LABELS, min_size=1, max_size=6).map(".".join),
    st.integers(min_value=60, max_value=66).map(lambda n: ".".join(["a" * 63] * 3 + ["b" * n])),
)


@settings(max_examples=600, deadline=None)
@given(_NAMES)
def test_plain_names_skip_idna_only_where_idna_would_just_lower_case_them(host: str) -> None:
    plain = plain_name(host)
    if plain is not None:  # the fast path answered: idna must agree exactly
        assert plain == _idna_or_error(host)


@pytest.mark.parametrize(
    "host", ["Mail.Example.COM", "a" * 63 + ".example", ".".join(["a" * 63] * 3 + ["b" * 61]), "h-1.x9.test"]
)
def test_plain_names_take_the_fast_path(host: str) -> None:
    assert plain_name(host) == host.lower() == _idna_or_error(host)


@pytest.mark.parametrize(
    "host, key",
    [("xn--bcher-kva.example", "xn--bcher-kva.example"), ("Bücher.example", "xn--bcher-kva.example")],
)
def test_names_the_fast_path_leaves_alone_still_go_through_idna(host: str, key: str) -> None:
    assert plain_name(host) is None
    assert parse_target(host).key == key


@pytest.mark.parametrize("host", ["ab--cd.example", "xn--.example", "a" * 64 + ".example", "-a.example", "a..b"])
def test_names_idna_refuses_are_still_refused(host: str) -> None:
    with pytest.raises(TargetError):
        parse_target(host)
