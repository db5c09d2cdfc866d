"""Reading ``-f FILE`` (or ``-`` for stdin) line by line, with a bound per line and in total, so a
huge or endless input (``-f /dev/zero``) ends at once with a clear error instead of filling memory."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import BinaryIO

import click

MAX_LINE_BYTES = 4096  # a target is at most 300 characters; the rest of a line may be a comment
MAX_FILE_BYTES = 64 * 1024 * 1024  # 100,000 targets with room for comments


def target_lines(file: str, *, max_line: int = MAX_LINE_BYTES, max_total: int = MAX_FILE_BYTES) -> Iterator[str]:
    """The non-empty, comment-stripped lines of ``file``; raises click.UsageError past a bound."""
    for _, text in numbered_lines(file, max_line=max_line, max_total=max_total):
        yield text


def numbered_lines(
    file: str, *, max_line: int = MAX_LINE_BYTES, max_total: int = MAX_FILE_BYTES
) -> Iterator[tuple[int, str]]:
    """(line number, text) of the non-empty, comment-stripped lines of ``file``; raises
    click.UsageError past a bound."""
    try:
        stream: BinaryIO = sys.stdin.buffer if file == "-" else open(file, "rb")  # noqa: SIM115
    except OSError as exc:
        raise click.UsageError(f"cannot read {file!a}: {exc.strerror}") from None
    name = "stdin" if file == "-" else ascii(file)
    total = 0
    try:
        for number in range(1, sys.maxsize):
            line = stream.readline(max_line + 1)
            if not line:
                return
            total += len(line)
            if len(line) > max_line:
                raise click.UsageError(f"{name} line {number} is longer than {max_line} bytes: one target per line")
            if total > max_total:
                raise click.UsageError(f"{name} is larger than {max_total // (1024 * 1024)} MiB")
            text = line.decode("utf-8", errors="replace").split("#", 1)[0].strip()
            if text:
                yield number, text
    except OSError as exc:
        raise click.UsageError(f"cannot read {name}: {exc.strerror}") from None
    finally:
        if stream is not sys.stdin.buffer:
            stream.close()
