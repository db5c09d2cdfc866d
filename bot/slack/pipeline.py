"""The path every request that does work takes: allowlists, rate limit, hand-off to the job runner,
acknowledgement, audit row; then, on a job thread, the work and its delivery.

Everything before ``ack()`` is in memory (no network, no database), so the acknowledgement leaves
within milliseconds however busy the app is; the audit row is written right after it.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from slack_sdk import WebClient

from bot.render import blocks
from bot.render.blocks import Message
from bot.repeats import storage_errors
from bot.slack import reply
from bot.slack.deps import SlackDeps
from bot.slack.parse import Help, Usage
from bot.slack.requester import Requester, audit, refusal

log = logging.getLogger(__name__)

Ack = Callable[..., Any]
C = TypeVar("C")
Work = Callable[[], Message]
BUSY = "exchbot is busy, try again in a minute."
ACK_WAIT = 3.0  # a job waits at most this long for its acknowledgement to leave


def refuse(deps: SlackDeps, who: Requester) -> tuple[Message, str] | None:
    """(message, audit outcome) when the requester may not do work now, else None (a token is taken)."""
    why = refusal(deps.settings, who)
    if why:
        return blocks.notice(why, ":no_entry:"), "denied"
    wait = deps.limiter.acquire(who.user_id)
    if wait > 0:
        per = deps.limiter.rate
        text = (
            f"Slow down: at most {per:g} request{'s' if per != 1 else ''} a minute per person. "
            f"Try again in {math.ceil(wait)} s."
        )
        return blocks.notice(text, ":hourglass:"), "rate_limited"
    return None


def start(
    deps: SlackDeps,
    who: Requester,
    *,
    command: str,
    text: str,
    ack: Ack | None,
    pending: Message | None,
    work: Work,
    client: WebClient | None,
    replace_original: bool = True,
) -> str:
    """Gate, submit ``work``, acknowledge with ``pending`` (or the reason it was refused), audit.

    ``ack`` is None for button clicks, which are acknowledged (empty) before this is called; there
    ``pending`` (if any) is posted from the job and refusals go through the response_url. Returns the
    outcome written to the audit table.
    """
    refused = refuse(deps, who)
    if refused is not None:
        msg, outcome = refused
        _answer_now(deps, who, ack, msg, client)
        audit(deps, who, command, text, outcome)
        return outcome
    acked = threading.Event()

    def job() -> None:
        acked.wait(ACK_WAIT)  # the result must not overtake the acknowledgement it replaces
        if ack is None and pending is not None:
            reply.respond(who, pending, client=None, replace_original=replace_original, timeout=deps.respond_timeout)
        try:
            result = work()
        except sqlite3.Error as exc:  # one line per distinct fault, repeats counted (bot.repeats)
            storage_errors.report(log, f"{command} failed: the history database {deps.store.path}: {exc}")
            result = blocks.notice("exchbot's history database is unavailable; the error is in its log.", ":x:")
        except Exception:
            log.exception("%s failed", command)
            result = blocks.notice("Something went wrong on exchbot's side; the error is in its log.", ":x:")
        if not reply.respond(
            who, result, client=client, replace_original=replace_original, timeout=deps.respond_timeout
        ):
            log.error("the result of %s for %s could not be delivered", command, who.user_id)

    if not deps.jobs.submit(job):
        deps.limiter.refund(who.user_id)
        _answer_now(deps, who, ack, blocks.notice(BUSY, ":hourglass:"), client)
        audit(deps, who, command, text, "busy")
        return "busy"
    if ack is not None:
        ephemeral(ack, pending or blocks.pending_card("Working on it…"))
    acked.set()
    audit(deps, who, command, text, "accepted")
    return "accepted"


def command_or_answer(
    deps: SlackDeps, who: Requester, ack: Ack, parsed: C | Help | Usage, *, command: str, text: str
) -> C | None:
    """The preamble of every slash command: help and usage problems are answered at once (and
    audited); anything else is the parsed command, returned for the listener to start."""
    if isinstance(parsed, Help):
        answer(deps, who, ack, blocks.help_card(command), command=command, text=text, outcome="help")
        return None
    if isinstance(parsed, Usage):
        msg = blocks.usage_card(command, parsed.problem)
        answer(deps, who, ack, msg, command=command, text=text, outcome=f"usage:{parsed.reason}")
        return None
    return parsed


def answer(deps: SlackDeps, who: Requester, ack: Ack, msg: Message, *, command: str, text: str, outcome: str) -> None:
    """Acknowledge with a final answer (help, usage) and audit it; no work is started."""
    ephemeral(ack, msg)
    audit(deps, who, command, text, outcome)


def ephemeral(ack: Ack, msg: Message) -> None:
    """Acknowledge a slash command with ``msg`` as the HTTP response body: only the user sees it."""
    ack({**msg, "response_type": "ephemeral"})


def _answer_now(deps: SlackDeps, who: Requester, ack: Ack | None, msg: Message, client: WebClient | None) -> None:
    if ack is not None:
        ephemeral(ack, msg)
    else:  # a button: the click was acknowledged already; answer without replacing the card
        reply.respond(who, msg, client=client, replace_original=False, timeout=deps.respond_timeout)
