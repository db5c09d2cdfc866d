"""Why a check failed, said once, with what to try next. Pure.

The prober's errors are data (``could not check: no answer within 10 s``, ``refused: 10.0.0.5 is
…``); every renderer goes through :func:`failure_text` so "could not check" is said exactly once,
and through :func:`failure_hints` for the next step. The way to lift the SSRF guard differs by
surface: a CLI flag for terminal users, the administrator's setting in Slack (users have no flags).
"""

from __future__ import annotations

from bot.core.failure import failure_reason

PREFIX = "could not check: "


def is_refusal(error: str | None) -> bool:
    """The SSRF guard refused the target (not a network failure)."""
    return bool(error) and failure_reason(error or "").lower().startswith("refused")


def failure_text(error: str, *, slack: bool) -> str:
    """``could not check: REASON`` (once), and for a refusal how to allow internal hosts."""
    text = PREFIX + failure_reason(error)
    if is_refusal(error):
        text += "; " + private_hint(slack=slack)
    return text


def private_hint(*, slack: bool) -> str:
    if slack:
        return "internal hosts can be checked only if the exchbot administrator sets EXCHBOT_ALLOW_PRIVATE=1"
    return "use --allow-private (or EXCHBOT_ALLOW_PRIVATE=1) for internal hosts"


def failure_hints(error: str | None, port: int | None = None) -> list[str]:
    """What to try when a host could not be checked (empty for refusals: that hint is in the text)."""
    if not error or is_refusal(error):
        return []
    reason = failure_reason(error).lower()
    hints: list[str] = []
    if "resolve" in reason or "dns" in reason:
        hints.append("check the spelling of the name; an internal name may resolve only inside your network or VPN")
    elif "tls" in reason or "ssl" in reason or "certificate" in reason or "handshake" in reason:
        hints.append("the TLS handshake failed: an old server, a proxy that needs a client certificate, or not HTTPS")
    elif "timed out" in reason or "no answer" in reason or "timeout" in reason:
        hints.append("a firewall may drop the connection, or the host is reachable only over a VPN")
        hints.append(
            "Outlook on the web usually listens on 443; give the port if it is another (mail.example.com:8443)"
            if port in (None, 443)
            else f"is port {port} right? Outlook on the web usually listens on 443"
        )
    elif "refused" in reason or "reset" in reason:
        hints.append(
            "nothing accepts connections on that port"
            + ("; Outlook on the web usually listens on 443" if port not in (None, 443) else "")
        )
    else:
        hints.append("try again later; the host or the path to it may be down")
    return hints


def domain_hint(host: str) -> str | None:
    """For a bare domain (two labels, no port): the host names Exchange usually answers at."""
    name = host.rsplit(":", 1)[0] if ":" in host and not host.startswith("[") else host
    labels = name.split(".")
    if len(labels) != 2 or not all(labels) or name.replace(".", "").isdigit() or ":" in host:
        return None
    return (
        f"{name} looks like a domain, not a server: Outlook on the web usually answers at "
        f"mail.{name} or autodiscover.{name}"
    )
