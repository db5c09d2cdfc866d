"""Where batch results go: text, JSON Lines, a JSON array, CSV; to stdout or ``-o FILE``; and the
TTY-only progress line on stderr. Every result is written and flushed as soon as it is handed in
(the JSON array alone keeps input order, for the scripts that rely on it)."""

from __future__ import annotations

import csv
import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING, Any, Literal, Protocol, TextIO

if TYPE_CHECKING:
    from bot.core.model import CheckResult


Format = Literal["text", "json", "jsonl", "csv"]


class Sink(Protocol):
    def prepare(self) -> None:
        """Import what :meth:`result` needs (run_batch calls this while the first requests wait)."""

    def result(self, index: int, r: CheckResult) -> None: ...

    def finish(self) -> None: ...


class _Rendering:
    """A sink's renderer (a bot.render module), imported by :meth:`prepare` or the first result,
    not when the sink is made: ``check`` makes its sink before its first request leaves."""

    renderer_name = "bot.render.text"
    _renderer: ModuleType | None = None

    def prepare(self) -> None:
        if self._renderer is None:
            self._renderer = importlib.import_module(self.renderer_name)

    @property
    def renderer(self) -> Any:
        self.prepare()
        return self._renderer


class TextSink(_Rendering):
    def __init__(self, out: TextIO, *, single: bool) -> None:
        self.out, self.single = out, single

    def result(self, index: int, r: CheckResult) -> None:
        text = self.renderer
        self.out.write((text.check_details(r) if self.single else text.check_line(r)) + "\n")
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


class JsonlSink(_Rendering):
    """One JSON object a line, written and flushed as each result completes."""

    renderer_name = "bot.render.json_out"

    def __init__(self, out: TextIO) -> None:
        self.out = out

    def result(self, index: int, r: CheckResult) -> None:
        json_out = self.renderer
        self.out.write(json_out.check_json(r) + "\n")
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


class JsonArraySink(_Rendering):
    """A JSON array in input order (one object for a single target). Elements are written as soon
    as every earlier one is known; on interruption the completed rest follows in input order."""

    renderer_name = "bot.render.json_out"

    def __init__(self, out: TextIO, *, single: bool) -> None:
        self.out, self.single = out, single
        self.waiting: dict[int, CheckResult] = {}
        self.next_out = 0
        self.written = 0
        if not single:
            out.write("[")

    def result(self, index: int, r: CheckResult) -> None:
        self.waiting[index] = r
        while self.next_out in self.waiting:
            self._write(self.waiting.pop(self.next_out))
            self.next_out += 1
        self.out.flush()

    def _write(self, r: CheckResult) -> None:
        json_out = self.renderer
        if self.single:
            self.out.write(json_out.dumps(json_out.check_dict(r)) + "\n")
            return
        self.out.write(("\n  " if self.written == 0 else ",\n  ") + json_out.check_json(r))
        self.written += 1

    def finish(self) -> None:
        for index in sorted(self.waiting):
            self._write(self.waiting.pop(index))
        if not self.single:
            self.out.write("\n]\n" if self.written else "]\n")
        self.out.flush()


class CsvSink(_Rendering):
    """A header, then one row per result as it completes (RFC 4180 quoting, formula-safe cells)."""

    renderer_name = "bot.render.csv_out"

    def __init__(self, out: TextIO) -> None:
        self.out = out
        csv_out = self.renderer  # the header is written at once
        self.writer = csv.writer(out, lineterminator="\n")
        self.writer.writerow(csv_out.HEADER)
        out.flush()

    def result(self, index: int, r: CheckResult) -> None:
        self.writer.writerow(self.renderer.row(r))
        self.out.flush()

    def finish(self) -> None:
        self.out.flush()


def make_sink(fmt: Format, out: TextIO, *, single: bool) -> Sink:
    if fmt == "jsonl":
        return JsonlSink(out)
    if fmt == "json":
        return JsonArraySink(out, single=single)
    if fmt == "csv":
        return CsvSink(out)
    return TextSink(out, single=single)


def pick_format(as_json: bool, jsonl: bool, as_csv: bool) -> Format:
    """At most one of --json, --jsonl, --csv (the caller reports a usage error otherwise)."""
    chosen = [f for f, on in (("json", as_json), ("jsonl", jsonl), ("csv", as_csv)) if on]
    if len(chosen) > 1:
        raise ValueError("choose one of --json, --jsonl and --csv")
    return chosen[0] if chosen else "text"  # type: ignore[return-value]


class Progress:
    """``checked N/M`` (or another ``verb``) redrawn in place on stderr, only when stderr is a
    terminal and M > 1. :meth:`clear` wipes it before anything else is written, so results never
    print onto it."""

    def __init__(self, total: int, stream: TextIO | None = None, *, verb: str = "checked") -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total > 1 and _isatty(self.stream)
        self.shown = False
        self.verb = verb

    def __call__(self, done: int, total: int) -> None:
        if self.enabled and done < total:
            self.stream.write(f"\r\x1b[K{self.verb} {done}/{total}")
            self.stream.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.shown = False


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
