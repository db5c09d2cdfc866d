"""``exchbot status`` as text (its JSON: :mod:`bot.render.json_out`). Pure."""

from __future__ import annotations

from bot.services.status import Outcome, Status


def _outcome_line(label: str, o: Outcome | None) -> str:
    if o is None:
        return f"{label}: never"
    state = {True: "ok", False: "FAILED", None: "ran"}[o.ok]
    detail = " ".join(o.detail.split())[:200]
    return f"{label}: {o.at:%Y-%m-%d %H:%M %Z} {state}" + (f" ({detail})" if detail else "")


def status_text(s: Status) -> str:
    lines = [f"exchbot: {'healthy' if s.healthy else 'NOT healthy'}"]
    lines += [f"  problem: {p}" for p in s.problems]
    schema = "?" if s.schema_version is None else str(s.schema_version)
    writable = "writable" if s.writable else "NOT writable"
    lines.append(f"database: {s.db_path} ({writable}, schema {schema} of {s.schema_expected})")
    if s.counts is not None:
        lines.append(f"holds: {s.counts.text()}")
    warn_from = f"; answers warn from {s.knowledge_warn_from:%Y-%m-%d}" if s.knowledge_warn_from else ""
    lines.append(f"knowledge: data up to {s.knowledge_date:%Y-%m-%d} ({s.knowledge_age_days} days old{warn_from})")
    if s.knowledge_warning:
        lines.append(f"  warning: {s.knowledge_warning}")
    lines.append(_outcome_line("last watchlist run", s.last_watchlist_run))
    lines.append(_outcome_line("last digest", s.last_digest))
    lines.append(_outcome_line("last backup", s.last_backup))
    if s.backup_dir is not None:
        lines.append(f"daily backups: {s.backup_dir} ({s.backups_in_dir} kept)")
    return "\n".join(lines)
