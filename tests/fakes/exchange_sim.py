"""A fake HTTPS Exchange farm on 127.0.0.1 for the prober's tests and benchmarks.

One asyncio HTTPS server in a daemon thread answers as many "servers" as you like: the Host header
(without port, case-insensitive) picks a :class:`~tests.fakes.exchange_profiles.Profile`; unknown
hosts and IP literals get the default profile. Any ``<profile-name-with-dashes>.sim.test`` host
also routes to that profile (``exchange-se-current.sim.test``) unless ``hosts`` says otherwise.
Profiles, their per-path answers and their ground truth live in ``tests/fakes/exchange_profiles.py``
(``python -m tests.fakes.exchange_profiles`` prints the table).

Usage::

    from tests.fakes.exchange_sim import ExchangeSimulator, PROFILES

    with ExchangeSimulator(hosts={"mail.e2016.test": "exchange2016_cu22_nov21su"},
                           default="exchange2019_cu9_fileversion", latency=0.0, cert="valid") as sim:
        r = httpx.get(f"https://127.0.0.1:{sim.port}/owa/", headers={"Host": "mail.e2016.test"}, verify=False)
        sim.requests   # [RecordedRequest(method, path, headers, host, time, profile, sni, ...)]
        sim.reset()    # forget requests, restart the pool round-robin

    # a pytest fixture in your own test module:
    @pytest.fixture
    def sim():
        with ExchangeSimulator(default="exchange_se_current") as s:
            yield s

Absolute Location headers are built from the Host header as sent: send ``Host: name:port`` (httpx
does when the URL carries the port) if redirects should lead back to the simulator.

TLS: the server name (SNI) is read from the ClientHello before the handshake, only to let the
``slow_tls`` profile stall it (chosen by SNI, or as the default profile for clients that send no
SNI, e.g. to an IP literal). Everything else is routed by the Host header after TLS.

Certificates: a throwaway self-signed ECDSA certificate is made per simulator (CN
``exchange.sim.test``, SANs: every host in ``hosts``, ``*.sim.test``, ``localhost``, IPs 127.0.0.1
and ::1). ``cert="expired"`` makes one whose notAfter is in the past. ``sim.cert_pem``,
``sim.cert_not_after``, ``sim.cert_subject``, ``sim.cert_sans``; ``sim.client_ssl_context()``
trusts it (for verify=True style tests).

Hostile behaviours never hurt the simulator: a handshake may take ``HANDSHAKE_TIMEOUT``, an idle
keep-alive connection ``IDLE_TIMEOUT``, a hostile answer (hang, drip, huge body, stalled TLS)
``MAX_CONNECTION_SECONDS``; everything stops when the ``with`` block ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import email.utils
import ipaddress
import itertools
import os
import random
import re
import socket
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.fakes.exchange_profiles import ALIASES, PROBE_PATHS, PROFILES, Backend, Profile, Reply, get_profile

__all__ = ["PROBE_PATHS", "PROFILES", "ExchangeSimulator", "Profile", "RecordedRequest", "get_profile"]

CERT_CN = "exchange.sim.test"
MAX_HEAD = 64 * 1024  # request line + headers
MAX_REQUEST_BODY = 1024 * 1024
IDLE_TIMEOUT = 15.0  # keep-alive idle connections
HANDSHAKE_TIMEOUT = 10.0
MAX_CONNECTION_SECONDS = 120.0  # hard cap for hang / drip / slow_tls / huge bodies
CHUNK = b"A" * 65536  # the one buffer huge bodies are streamed from
_HOST_OK = re.compile(r"^[A-Za-z0-9._\-:\[\]]{1,255}$")


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # as sent, with query
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    host: str  # Host header as sent (may include the port), "" if absent
    time: float  # time.time() when the request head was read
    profile: str  # the profile that answered
    sni: str | None  # TLS server name, when the client sent one
    monotonic: float = 0.0  # time.monotonic() at the same moment
    connection: int = 0  # serial number of the TCP connection (same number = keep-alive reuse)


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    version: str
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        name = name.lower()
        values = [v for k, v in self.headers if k.lower() == name]
        return ", ".join(values) if values else None


class _BadRequest(Exception):
    pass


def _hostname(host_header: str) -> str:
    """Host header -> bare lower-case host name (no port, no brackets, no trailing dot)."""
    h = host_header.strip().lower()
    if h.startswith("["):
        return h[1 : h.find("]")] if "]" in h else h[1:]
    if h.count(":") == 1:
        h = h.split(":", 1)[0]
    return h.rstrip(".")


def _iis_escape(text: str) -> str:
    """Percent-encode like IIS in ?url=: every reserved character, lower-case hex."""
    out = []
    for ch in text:
        if ch.isalnum() or ch in "-._~":
            out.append(ch)
        else:
            out.extend(f"%{b:02x}" for b in ch.encode("utf-8"))
    return "".join(out)


def _parse_head(head: bytes) -> _Request:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1.") or not parts[0].isalpha():
        raise _BadRequest(lines[0][:80])
    method, target, version = parts
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        if ":" not in line:
            raise _BadRequest(line[:80])
        name, value = line.split(":", 1)
        headers.append((name.strip(), value.strip()))
    if target.lower().startswith(("http://", "https://")):  # absolute-form
        rest = target.split("://", 1)[1]
        target = "/" + rest.split("/", 1)[1] if "/" in rest else "/"
    if not target.startswith("/"):
        target = "/" + target
    return _Request(method.upper(), target, version, headers)


def _make_cert(hostnames: list[str], expired: bool) -> tuple[bytes, bytes, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    if expired:
        not_before, not_after = now - dt.timedelta(days=400), now - dt.timedelta(days=30)
    else:
        not_before, not_after = now - dt.timedelta(days=1), now + dt.timedelta(days=30)
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, CERT_CN),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "exchbot simulator"),
        ]
    )
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in dict.fromkeys(hostnames)]
    sans += [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.IPAddress(ipaddress.ip_address("::1"))]
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        # a self-signed leaf that clients can also load as their trust anchor
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem, cert


def _sni_from_client_hello(data: bytes) -> str | None:
    """Server name from a raw TLS ClientHello record, or None (not TLS, truncated, no SNI)."""
    try:
        if len(data) < 5 or data[0] != 0x16:
            return None
        pos = 5
        if data[pos] != 0x01:  # handshake type ClientHello
            return None
        pos += 4 + 2 + 32  # handshake header, client_version, random
        pos += 1 + data[pos]  # session id
        pos += 2 + int.from_bytes(data[pos : pos + 2], "big")  # cipher suites
        pos += 1 + data[pos]  # compression methods
        end = pos + 2 + int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        while pos + 4 <= end and pos + 4 <= len(data):
            ext_type = int.from_bytes(data[pos : pos + 2], "big")
            ext_len = int.from_bytes(data[pos + 2 : pos + 4], "big")
            pos += 4
            if ext_type == 0:  # server_name: list length, type, name length, name
                name_len = int.from_bytes(data[pos + 3 : pos + 5], "big")
                return data[pos + 5 : pos + 5 + name_len].decode("ascii", "replace").lower()
            pos += ext_len
    except IndexError:
        return None
    return None


class ExchangeSimulator:
    """HTTPS server answering like the configured Exchange profiles. See the module docstring."""

    def __init__(
        self,
        hosts: Mapping[str, str | Profile] | None = None,
        default: str | Profile = "exchange2019_cu9_fileversion",
        latency: float = 0.0,
        cert: str = "valid",
        host: str = "127.0.0.1",
    ) -> None:
        if cert not in ("valid", "expired"):
            raise ValueError("cert must be 'valid' or 'expired'")
        self.host = host
        self.latency = float(latency)
        self.default_profile = get_profile(default)
        self.hosts: dict[str, Profile] = {_hostname(h): get_profile(p) for h, p in (hosts or {}).items()}
        self.port = 0
        self.cert_kind = cert
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._counters: dict[str, int] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._garbage = random.Random(1729).randbytes(64 * 1024)  # deterministic; not HTTP by construction
        self.internal_errors: list[str] = []
        self._conn_ids = itertools.count(1)

        names = [CERT_CN, *self.hosts, "*.sim.test", "localhost"]
        names = [n for n in names if n and not _is_ip(n)]
        self.cert_pem, self._key_pem, self._cert = _make_cert(names, expired=cert == "expired")
        self.cert_not_after: dt.datetime = self._cert.not_valid_after_utc
        self.cert_not_before: dt.datetime = self._cert.not_valid_before_utc
        self.cert_subject: str = self._cert.subject.rfc4514_string()
        self.cert_common_name = CERT_CN
        self.cert_sans: list[str] = [*names, "127.0.0.1", "::1"]  # DNS names, then IP addresses

    # --- public API ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot copy of the requests recorded so far (thread-safe)."""
        with self._lock:
            return list(self._requests)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._counters.clear()

    @property
    def active_connections(self) -> int:
        """Connections currently being served (hostile ones included)."""
        return len(self._tasks)

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def client_ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts exactly this simulator's certificate."""
        ctx = ssl.create_default_context(cadata=self.cert_pem.decode())
        return ctx

    def profile_for(self, host_header: str) -> Profile:
        name = _hostname(host_header)
        if name in self.hosts:
            return self.hosts[name]
        if name.endswith(".sim.test"):
            label = name[: -len(".sim.test")].replace("-", "_")
            label = ALIASES.get(label, label)
            if label in PROFILES:
                return PROFILES[label]
        return self.default_profile

    def start(self) -> ExchangeSimulator:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._startup_error = None
        self._thread = threading.Thread(target=self._run, name="exchange-sim", daemon=True)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("exchange simulator did not start")
        if self._startup_error is not None:
            raise RuntimeError("exchange simulator failed to start") from self._startup_error
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if loop.is_running():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(self._shutdown(), loop).result(timeout=10)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> ExchangeSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # --- event loop thread --------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        # unexpected errors land here instead of stderr; self-tests assert the list stays empty
        loop.set_exception_handler(lambda _loop, ctx: self.internal_errors.append(str(ctx.get("message"))))
        try:
            self._ssl_ctx = self._server_context()
            family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
            listener = socket.create_server((self.host, 0), family=family, backlog=2048)
            listener.setblocking(False)
            self._listener = listener
            self.port = listener.getsockname()[1]
            self._accept_task = loop.create_task(self._accept_loop(listener))
        except BaseException as exc:  # reported to start()
            self._startup_error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                listener.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.set_alpn_protocols(["http/1.1"])
        # load_cert_chain only reads files: write them briefly to a private temp dir
        with tempfile.TemporaryDirectory(prefix="exchsim-") as tmp:
            cert_path, key_path = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
            with open(cert_path, "wb") as f:
                f.write(self.cert_pem)
            with open(key_path, "wb") as f:
                f.write(self._key_pem)
            ctx.load_cert_chain(cert_path, key_path)
        return ctx

    async def _shutdown(self) -> None:
        self._accept_task.cancel()
        if self._listener is not None:
            self._listener.close()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def _accept_loop(self, listener: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn, _addr = await loop.sock_accept(listener)
            except asyncio.CancelledError:
                raise
            except OSError:
                await asyncio.sleep(0.01)  # e.g. EMFILE: back off instead of spinning
                continue
            conn.setblocking(False)
            # small writes (close_notify after a response) must not wait for a delayed ACK
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = loop.create_task(self._connection(conn))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _connection(self, conn: socket.socket) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            async with asyncio.timeout(HANDSHAKE_TIMEOUT + 1):
                # peek (not read) the ClientHello: SNI picks slow_tls before any TLS happens
                sni = _sni_from_client_hello(await self._peek_client_hello(conn))
            profile = self.profile_for(sni) if sni else self.default_profile
            if profile.tls == "stall":
                async with asyncio.timeout(MAX_CONNECTION_SECONDS):
                    await self._drain_until_closed(conn)
                return
            loop = asyncio.get_running_loop()
            reader = asyncio.StreamReader(limit=MAX_HEAD, loop=loop)
            protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
            transport, _ = await loop.connect_accepted_socket(
                lambda: protocol, conn, ssl=self._ssl_ctx, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
            writer = asyncio.StreamWriter(transport, protocol, reader, loop)
            await self._serve(reader, writer, sni, next(self._conn_ids))
            writer.close()  # graceful: flushes what is buffered, then close_notify
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 2)
        except (TimeoutError, OSError, EOFError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # the client went away or misbehaved, or we are shutting down: nothing to report
        except Exception as exc:  # a bug in the simulator: keep serving others, let self-tests see it
            self.internal_errors.append(repr(exc))
        finally:
            if writer is not None:
                writer.transport.abort()
            else:
                with contextlib.suppress(OSError):
                    conn.close()

    async def _wait_readable(self, conn: socket.socket, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()

        def ready() -> None:
            if not fut.done():
                fut.set_result(None)

        loop.add_reader(conn.fileno(), ready)
        try:
            await asyncio.wait_for(fut, timeout)
        finally:
            loop.remove_reader(conn.fileno())

    async def _peek_client_hello(self, conn: socket.socket) -> bytes:
        """Look at the ClientHello without consuming it, so TLS can still start normally."""
        deadline = time.monotonic() + HANDSHAKE_TIMEOUT
        data = b""
        while time.monotonic() < deadline:
            await self._wait_readable(conn, deadline - time.monotonic())
            data = conn.recv(16384, socket.MSG_PEEK)
            if not data:
                raise EOFError
            if len(data) >= 5 and len(data) >= 5 + int.from_bytes(data[3:5], "big"):
                return data
            if len(data) >= 5 and data[0] != 0x16:
                return data
            await asyncio.sleep(0.01)  # partial record: wait for more
        return data

    async def _drain_until_closed(self, conn: socket.socket) -> None:
        """slow_tls: read and drop whatever arrives, never answer, until EOF or the cap."""
        while True:
            await self._wait_readable(conn, MAX_CONNECTION_SECONDS)
            if not conn.recv(65536):
                return

    # --- HTTP ---------------------------------------------------------------------------------

    async def _serve(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sni: str | None, conn_id: int
    ) -> None:
        while True:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
            except asyncio.LimitOverrunError:
                await self._write_simple(writer, 431, "Request Header Fields Too Large")
                return
            except (asyncio.IncompleteReadError, TimeoutError):
                return
            try:
                req = _parse_head(head)
            except _BadRequest:
                await self._write_simple(writer, 400, "Bad Request")
                return
            body_ok = await self._discard_body(reader, req)
            host = req.header("host") or ""
            profile = self.profile_for(host) if host else self.default_profile
            self._record(req, host, profile, sni, conn_id)
            conn_hdr = (req.header("connection") or "").lower()
            keep = ("close" not in conn_hdr) if req.version == "HTTP/1.1" else ("keep-alive" in conn_hdr)
            keep = keep and body_ok
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            reply = self._pick_backend(profile).reply_for(req.target)
            keep = await self._respond(reply, req, host, writer, reader, keep)
            if not keep:
                return

    async def _discard_body(self, reader: asyncio.StreamReader, req: _Request) -> bool:
        """Read and drop a request body; False when the connection cannot be reused."""
        if req.header("transfer-encoding"):
            return False  # no chunked request bodies here: answer, then close
        length = req.header("content-length")
        if not length:
            return True
        try:
            n = int(length)
        except ValueError:
            return False
        if n < 0 or n > MAX_REQUEST_BODY:
            return False
        await reader.readexactly(n)
        return True

    def _record(self, req: _Request, host: str, profile: Profile, sni: str | None, conn_id: int) -> None:
        headers: dict[str, str] = {}
        for k, v in req.headers:
            k = k.lower()
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        rec = RecordedRequest(
            req.method, req.target, headers, host, time.time(), profile.name, sni, time.monotonic(), conn_id
        )
        with self._lock:
            self._requests.append(rec)

    def _pick_backend(self, profile: Profile) -> Backend:
        if len(profile.backends) == 1:
            return profile.backends[0]
        with self._lock:
            n = self._counters.get(profile.name, 0)
            self._counters[profile.name] = n + 1
        return profile.backends[n % len(profile.backends)]

    def _fill(self, text: str, values: dict[str, str]) -> str:
        if "{{" not in text:
            return text
        for k, v in values.items():
            text = text.replace("{{" + k + "}}", v)
        return text

    async def _respond(
        self,
        reply: Reply,
        req: _Request,
        host: str,
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
        keep: bool,
    ) -> bool:
        """Write one answer; return whether the connection stays open for another request."""
        if reply.kind == "normal":
            head, body, keep = self._render(reply, req, host, keep)
            writer.write(head if req.method == "HEAD" else head + body)
            await writer.drain()
            return keep
        async with asyncio.timeout(MAX_CONNECTION_SECONDS):
            await self._respond_hostile(reply, req, host, writer, reader)
        return False

    def _render(self, reply: Reply, req: _Request, host: str, keep: bool) -> tuple[bytes, bytes, bool]:
        """Status line and headers (order and casing as in the profile) plus the filled-in body."""
        safe_host = host if host and _HOST_OK.match(host) else f"{self.host}:{self.port}"
        values = {
            "host": safe_host,
            "hostname": _hostname(safe_host),
            "host_enc": _iis_escape(safe_host),
            "path": req.target,
            "date": email.utils.formatdate(usegmt=True),
            "uuid": str(uuid.uuid4()),
        }
        body = reply.body
        if b"{{" in body:
            body = self._fill(body.decode("utf-8"), values).encode("utf-8")
        length = reply.size if reply.kind in ("huge", "drip", "short_body") else len(body)
        values["length"] = str(length)
        if reply.kind != "normal" or any(n.lower() == "connection" and "close" in v.lower() for n, v in reply.headers):
            keep = False
        lines = [f"HTTP/1.1 {reply.status} {reply.reason}"]
        has_length = has_connection = False
        for name, value in reply.headers:
            low = name.lower()
            has_length = has_length or low in ("content-length", "transfer-encoding")
            if low == "connection":
                has_connection = True
                if not keep:
                    value = "close"
            lines.append(f"{name}: {self._fill(value, values)}")
        if not has_length:
            lines.append(f"Content-Length: {length}")
        if not keep and not has_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head, body, keep

    async def _respond_hostile(
        self, reply: Reply, req: _Request, host: str, writer: asyncio.StreamWriter, reader: asyncio.StreamReader
    ) -> None:
        if reply.kind == "hang":
            await self._wait_for_disconnect(reader, MAX_CONNECTION_SECONDS)
        elif reply.kind == "garbage":
            writer.write(self._garbage[: reply.size or len(self._garbage)])
            await writer.drain()
        elif reply.kind == "huge_headers":
            writer.write(b"HTTP/1.1 200 OK\r\nServer: Microsoft-IIS/10.0\r\n")
            filler = b"x" * (8192 - 16)
            for i in range(200):
                writer.write(b"X-Filler-%03d: " % i + filler + b"\r\n")
                await writer.drain()
            writer.write(b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        elif reply.kind == "huge":
            head, _, _ = self._render(reply, req, host, False)
            writer.write(head)
            remaining = 0 if req.method == "HEAD" else reply.size
            while remaining > 0:  # one shared chunk, never the whole body in memory
                piece = CHUNK if remaining >= len(CHUNK) else CHUNK[:remaining]
                writer.write(piece)
                remaining -= len(piece)
                await writer.drain()
        elif reply.kind == "drip":
            head, _, _ = self._render(reply, req, host, False)
            writer.write(head)
            await writer.drain()
            for _ in range(reply.size):
                writer.write(b" ")
                await writer.drain()
                if await self._wait_for_disconnect(reader, 1.0):  # the 1 s pause also notices a hang-up
                    return

        elif reply.kind == "drip_chunked":
            head, body, _ = self._render(reply, req, host, False)
            writer.write(head + (b"%x\r\n%s\r\n" % (len(body), body) if body else b""))
            await writer.drain()
            for _ in range(int(MAX_CONNECTION_SECONDS)):
                writer.write(b"1\r\n \r\n")
                await writer.drain()
                if await self._wait_for_disconnect(reader, 1.0):
                    return
        elif reply.kind == "short_body":
            head, body, _ = self._render(reply, req, host, False)
            writer.write(head + body[: max(0, reply.size - 1)])  # always short of what was declared
            await writer.drain()
        elif reply.kind == "stall_head":
            head, _, _ = self._render(reply, req, host, False)
            writer.write(head[:-2])  # the headers, without the empty line that would end them
            await writer.drain()
            await self._wait_for_disconnect(reader, MAX_CONNECTION_SECONDS)

    async def _wait_for_disconnect(self, reader: asyncio.StreamReader, timeout: float) -> bool:
        """Wait up to ``timeout`` for the client to close; True if it did."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(65536), left)
            except TimeoutError:
                return False
            except (ConnectionError, ssl.SSLError, OSError):
                return True
            if not data:
                return True
        return False

    async def _write_simple(self, writer: asyncio.StreamWriter, status: int, reason: str) -> None:
        body = f"<h1>{reason}</h1>".encode()
        writer.write(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/html; charset=us-ascii\r\n"
            f"Server: Microsoft-HTTPAPI/2.0\r\nDate: {email.utils.formatdate(usegmt=True)}\r\n"
            f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        await writer.drain()


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
