"""Self-tests of the HTTPS Exchange simulator (tests/fakes/exchange_sim.py)."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import socket
import ssl
import time
from collections.abc import Iterator

import defusedxml.ElementTree as DET
import httpx
import pytest
from defusedxml import DTDForbidden, EntitiesForbidden

from tests.fakes.exchange_profiles import EXPORT, EXPORT_REQUEST_PATH, LOGON, OWA
from tests.fakes.exchange_sim import PROBE_PATHS, PROFILES, ExchangeSimulator, Profile

BUILD4 = re.compile(r"^\d+\.\d+\.\d+\.\d+$")
BUILD3 = re.compile(r"^\d+\.\d+\.\d+$")
FRIENDLY = [name for name, p in PROFILES.items() if not p.hostile or p.signals]
ASM = "{urn:schemas-microsoft-com:asm.v1}assemblyIdentity"


def _text(r: httpx.Response) -> str:
    """Header lines exactly as sent ("Name: value", original casing) plus the body."""
    lines = [f"{k.decode('latin-1')}: {v.decode('latin-1')}" for k, v in r.headers.raw]
    return "\n".join(lines) + "\n\n" + r.content.decode("utf-8", "replace")


def _request_path(path: str) -> str:
    return EXPORT_REQUEST_PATH if path == EXPORT else path


@pytest.fixture(scope="module")
def farm() -> Iterator[ExchangeSimulator]:
    """One simulator serving every profile under <name>.sim.test (the built-in routing)."""
    with ExchangeSimulator(hosts={"mail.e2016.test": "exchange2016_cu22_nov21su"}, default="not_exchange") as sim:
        yield sim
        assert sim.internal_errors == []


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(verify=False, timeout=5.0, follow_redirects=False) as c:
        yield c


def _host(name: str) -> str:
    return name.replace("_", "-") + ".sim.test"


# --- profiles ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PROFILES))
def test_profile_ground_truth_is_well_formed(name: str) -> None:
    p = PROFILES[name]
    assert p.name == name and p.source and p.description
    assert p.backends
    for build in (p.true_build, p.expect_build):
        assert build is None or BUILD4.match(build) or BUILD3.match(build)
    if p.expect_exchange is False:
        assert p.expect_build is None
    if not p.hostile:
        assert p.signals or len(p.backends) > 1, "non-hostile profiles document their signals"


@pytest.mark.parametrize("name", FRIENDLY)
def test_profile_answers_its_documented_signals(farm: ExchangeSimulator, client: httpx.Client, name: str) -> None:
    for path, needle in PROFILES[name].signals:
        r = client.get(farm.url(_request_path(path)), headers={"Host": _host(name)})
        assert needle in _text(r), (name, path, needle)
    assert farm.internal_errors == []


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if not p.hostile])
def test_expected_build_is_visible_on_the_probe_paths(farm: ExchangeSimulator, client: httpx.Client, name: str) -> None:
    p = PROFILES[name]
    seen = "\n".join(_text(client.get(farm.url(path), headers={"Host": _host(name)})) for path in PROBE_PATHS)
    if p.expect_build is None:
        assert not re.search(r"/owa/(auth/)?\d+\.\d+\.\d+", seen)
        assert "x-owa-version" not in seen.lower() or p.name == "exchange_online"
    elif BUILD3.match(p.expect_build):
        assert f"/owa/auth/{p.expect_build}/" in seen
        assert "x-owa-version" not in seen.lower()
    else:
        assert p.expect_build in seen


@pytest.mark.parametrize("name", [n for n, p in PROFILES.items() if not p.hostile and len(p.backends) == 1])
def test_export_tool_manifest_parses_safely(farm: ExchangeSimulator, client: httpx.Client, name: str) -> None:
    r = client.get(farm.url(EXPORT_REQUEST_PATH), headers={"Host": _host(name)})
    if r.headers.get("content-type") != "application/x-ms-application":
        assert r.status_code != 200 or b"<assemblyIdentity" not in r.content
        return
    root = DET.fromstring(r.content)
    versions = {e.get("version") for e in root.iter() if e.tag.endswith("assemblyIdentity")}
    assert len(versions) == 1 and BUILD4.match(versions.pop() or "")
    assert 15_000 < len(r.content) < 20_000  # the real manifest is ~16 KB
    assert r.content.count(b"assemblyIdentity ") + r.content.count(b"assemblyIdentity\n") >= 3


def test_logon_page_head_matches_the_samples(farm: ExchangeSimulator, client: httpx.Client) -> None:
    r = client.get(farm.url(LOGON), headers={"Host": _host("exchange2016_cu9_pathonly")})
    head = r.text.split("<style>")[0]
    assert head.startswith('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n')
    assert "<!-- OwaPage = ASP.auth_logon_aspx -->" in head
    icon = '<link rel="shortcut icon" href="/owa/auth/15.1.1466/themes/resources/favicon.ico" type="image/x-icon">'
    assert icon in head
    assert head.rstrip().endswith("<title>Outlook</title>")
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "https://exchange2016-cu9-pathonly.sim.test/owa/" in r.text  # form destination uses the Host


def test_owa_redirect_location_format(farm: ExchangeSimulator, client: httpx.Client) -> None:
    r = client.get(farm.url(OWA), headers={"Host": "mail.e2016.test"})
    assert r.status_code == 302
    assert r.headers["location"] == (
        "https://mail.e2016.test/owa/auth/logon.aspx?url=https%3a%2f%2fmail.e2016.test%2fowa%2f&reason=0"
    )
    r = client.get(farm.url(OWA), headers={"Host": "MAIL.E2016.TEST:8443"})
    assert r.headers["location"].endswith("url=https%3a%2f%2fMAIL.E2016.TEST%3a8443%2fowa%2f&reason=0")


def test_pool_alternates_builds_round_robin(farm: ExchangeSimulator, client: httpx.Client) -> None:
    farm.reset()
    got = [
        client.get(farm.url(OWA), headers={"Host": _host("exchange_pool_mixed")}).headers["x-owa-version"]
        for _ in range(4)
    ]
    assert got == ["15.2.1748.36", "15.2.1544.33"] * 2
    farm.reset()
    r = client.get(farm.url(LOGON), headers={"Host": _host("exchange_pool_mixed")})
    assert "/owa/auth/15.2.1748/" in r.text


def test_honeypot_serves_the_same_page_everywhere(farm: ExchangeSimulator, client: httpx.Client) -> None:
    bodies = {client.get(farm.url(p), headers={"Host": _host("honeypot_owa")}).content for p in PROBE_PATHS}
    assert len(bodies) == 1 and b"/owa/auth/15.1.1466/" in bodies.pop()


# --- routing, recording ---------------------------------------------------------------------------


def test_routing_by_host_header(farm: ExchangeSimulator, client: httpx.Client) -> None:
    farm.reset()
    cases = {
        "mail.e2016.test": "exchange2016_cu22_nov21su",
        "Mail.E2016.Test.:443": "exchange2016_cu22_nov21su",
        "exchange-se-current.sim.test": "exchange_se_current",
        "exchange2019-cu9.sim.test": "exchange2019_cu9_fileversion",  # alias
        "unknown.example": "not_exchange",
        "127.0.0.1": "not_exchange",
        "[::1]:443": "not_exchange",
    }
    for host in cases:
        client.get(farm.url("/owa/?a=1"), headers={"Host": host})
    recorded = farm.requests
    assert [r.profile for r in recorded] == list(cases.values())
    assert [r.host for r in recorded] == list(cases)
    assert all(r.method == "GET" and r.path == "/owa/?a=1" for r in recorded)
    assert recorded[0].headers["host"] == "mail.e2016.test"
    assert recorded[0].time <= time.time()
    farm.reset()
    assert farm.requests == []


def test_keep_alive_reuses_one_connection(farm: ExchangeSimulator) -> None:
    farm.reset()
    with httpx.Client(verify=False, timeout=5.0) as c:
        for path in PROBE_PATHS:
            c.get(farm.url(path), headers={"Host": "mail.e2016.test"})
    conns = {r.connection for r in farm.requests}
    assert len(farm.requests) == len(PROBE_PATHS) and len(conns) == 1


def _raw_exchange(port: int, payload: bytes, server_hostname: str | None = None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname=server_hostname) as tls,
    ):
        tls.sendall(payload)
        out = b""
        while chunk := tls.recv(65536):
            out += chunk
    return out


def test_connection_close_and_http10(farm: ExchangeSimulator) -> None:
    out = _raw_exchange(farm.port, b"GET /owa/ HTTP/1.1\r\nHost: mail.e2016.test\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 302 Found\r\n") and b"\r\nConnection: close\r\n" in out
    # two pipelined requests, the second closes: both answered on one connection, then EOF
    out = _raw_exchange(
        farm.port,
        b"GET /owa/ HTTP/1.1\r\nHost: mail.e2016.test\r\n\r\n"
        b"HEAD / HTTP/1.1\r\nHost: x.example\r\nConnection: close\r\n\r\n",
    )
    assert out.count(b"HTTP/1.1 ") == 2 and out.endswith(b"\r\n\r\n")
    # a request body is read and dropped, the connection stays usable
    out = _raw_exchange(
        farm.port,
        b"POST /EWS/Exchange.asmx HTTP/1.1\r\nHost: mail.e2016.test\r\n"
        b"Content-Length: 5\r\n\r\nhello"
        b"GET /owa/ HTTP/1.1\r\nHost: mail.e2016.test\r\nConnection: close\r\n\r\n",
    )
    assert out.startswith(b"HTTP/1.1 401 Unauthorized\r\n") and b"HTTP/1.1 302 Found\r\n" in out
    out = _raw_exchange(farm.port, b"GET / HTTP/1.0\r\n\r\n")  # HTTP/1.0, no Host: default profile, closes
    assert out.startswith(b"HTTP/1.1 200 OK") and b"Example Widgets" in out


def test_garbage_requests_do_not_hurt(farm: ExchangeSimulator, client: httpx.Client) -> None:
    assert _raw_exchange(farm.port, b"\x00\x01 not http at all\r\n\r\n").startswith(b"HTTP/1.1 400 Bad Request")
    assert b"431" in _raw_exchange(farm.port, b"GET / HTTP/1.1\r\n" + b"X-A: " + b"a" * 70000 + b"\r\n\r\n")
    with socket.create_connection(("127.0.0.1", farm.port), timeout=5) as raw:  # plain HTTP to the TLS port
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        raw.settimeout(5)
        with pytest.raises(OSError):
            while raw.recv(1024):
                pass
            raise ConnectionResetError  # a clean EOF is fine too
    with socket.create_connection(("127.0.0.1", farm.port), timeout=5):
        pass  # connect and leave before the handshake
    assert client.get(farm.url(OWA), headers={"Host": "mail.e2016.test"}).status_code == 302
    assert farm.internal_errors == []


# --- certificate, latency, load -------------------------------------------------------------------


def test_valid_certificate_verifies_and_lists_hosts() -> None:
    with ExchangeSimulator(hosts={"mail.corp.test": "exchange_se_current"}) as sim:
        assert "CN=exchange.sim.test" in sim.cert_subject and sim.cert_common_name == "exchange.sim.test"
        assert sim.cert_not_after > dt.datetime.now(dt.UTC)
        assert "mail.corp.test" in sim.cert_sans and "127.0.0.1" in sim.cert_sans
        assert sim.cert_pem.startswith(b"-----BEGIN CERTIFICATE-----")
        r = httpx.get(sim.url(OWA), headers={"Host": "mail.corp.test"}, verify=sim.client_ssl_context())
        assert r.headers["X-OWA-Version"] == "15.2.2562.53"


def test_expired_certificate_is_expired() -> None:
    with ExchangeSimulator(cert="expired") as sim:
        assert sim.cert_not_after < dt.datetime.now(dt.UTC)
        with pytest.raises(httpx.ConnectError, match="expired"):
            httpx.get(sim.url(OWA), verify=sim.client_ssl_context())
        assert httpx.get(sim.url(OWA), verify=False).status_code == 302  # probing must still work


def test_latency_is_applied_per_request() -> None:
    with ExchangeSimulator(latency=0.2) as sim, httpx.Client(verify=False) as c:
        c.get(sim.url(OWA))  # warm the connection
        start = time.monotonic()
        c.get(sim.url(OWA))
        assert time.monotonic() - start >= 0.19  # a lower bound only: sleeping never ends early


def test_300_concurrent_requests_with_latency() -> None:
    async def run(port: int) -> list[int]:
        # 30 clients x 10 connections: one httpx pool of 300 is itself slow (its bookkeeping grows with n^2)
        limits = httpx.Limits(max_connections=10, max_keepalive_connections=10)
        clients = [httpx.AsyncClient(verify=False, timeout=30.0, limits=limits) for _ in range(30)]
        try:
            rs = await asyncio.gather(
                *(
                    clients[i % 30].get(
                        f"https://127.0.0.1:{port}{PROBE_PATHS[i % 7]}", headers={"Host": f"h{i}.example"}
                    )
                    for i in range(300)
                )
            )
        finally:
            for c in clients:
                await c.aclose()
        return [r.status_code for r in rs]

    with ExchangeSimulator(default="exchange_se_current", latency=0.05) as sim:
        codes = asyncio.run(run(sim.port))
        assert len(codes) == 300 and set(codes) <= {200, 302, 401}
        assert len(sim.requests) == 300
        assert len({r.connection for r in sim.requests}) > 100  # they really ran side by side
        assert sim.internal_errors == []


# --- hostile --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="not_exchange") as sim:
        yield sim
        assert sim.internal_errors == []


def _get(sim: ExchangeSimulator, name: str, path: str = OWA, timeout: float = 1.0) -> httpx.Response:
    return httpx.get(sim.url(path), headers={"Host": _host(name)}, verify=False, timeout=timeout)


def _still_alive(sim: ExchangeSimulator) -> None:
    assert _get(sim, "exchange_se_current", timeout=5).headers["x-owa-version"] == "15.2.2562.53"


def _connections_drain(sim: ExchangeSimulator) -> bool:
    """Wait (at most 3 s) until the simulator has let go of every connection."""
    deadline = time.monotonic() + 3
    while sim.active_connections and time.monotonic() < deadline:
        time.sleep(0.02)
    return sim.active_connections == 0


def test_slow_tls_never_finishes_the_handshake(hostile: ExchangeSimulator) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with (
        pytest.raises((TimeoutError, socket.timeout)),
        socket.create_connection(("127.0.0.1", hostile.port), timeout=0.5) as raw,
    ):
        ctx.wrap_socket(raw, server_hostname="slow-tls.sim.test")  # chosen by SNI
    # with SNI for a normal profile the same listener completes TLS
    out = _raw_exchange(
        hostile.port,
        b"GET /owa/ HTTP/1.1\r\nHost: exchange-se-current.sim.test\r\nConnection: close\r\n\r\n",
        server_hostname="exchange-se-current.sim.test",
    )
    assert b"X-OWA-Version: 15.2.2562.53" in out
    assert hostile.requests[-1].sni == "exchange-se-current.sim.test"
    # an IP literal sends no SNI: with slow_tls as the default profile the handshake stalls
    with ExchangeSimulator(default="slow_tls") as sim:
        with pytest.raises(httpx.ConnectTimeout):
            httpx.get(sim.url(OWA), verify=False, timeout=0.5)
        assert sim.requests == []


def test_hang_sends_nothing(hostile: ExchangeSimulator) -> None:
    with pytest.raises(httpx.ReadTimeout):
        _get(hostile, "hang", timeout=0.5)
    assert _connections_drain(hostile)
    _still_alive(hostile)


def test_drip_sends_headers_then_a_byte_at_a_time(hostile: ExchangeSimulator) -> None:
    with (
        httpx.Client(verify=False, timeout=httpx.Timeout(2.0, read=0.5)) as c,
        c.stream("GET", hostile.url(OWA), headers={"Host": _host("drip")}) as r,
    ):
        assert r.status_code == 200 and r.headers["content-length"] == "1000000"
        got = b""
        with pytest.raises(httpx.ReadTimeout):
            for chunk in r.iter_raw():
                got += chunk
        assert got == b" "
    assert _connections_drain(hostile)  # the drip stops once the client hangs up
    _still_alive(hostile)


def test_huge_body_is_streamed_lazily(hostile: ExchangeSimulator) -> None:
    with (
        httpx.Client(verify=False, timeout=5.0) as c,
        c.stream("GET", hostile.url(EXPORT_REQUEST_PATH), headers={"Host": _host("huge_body")}) as r,
    ):
        assert r.headers["content-length"] == str(200 * 1024 * 1024)
        got = 0
        for chunk in r.iter_raw():
            got += len(chunk)
            if got >= 1024 * 1024:
                break  # hang up mid-body
        assert got >= 1024 * 1024
    assert _connections_drain(hostile)
    _still_alive(hostile)


def test_garbage_is_not_http(hostile: ExchangeSimulator) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        _get(hostile, "garbage", timeout=2)
    out = _raw_exchange(
        hostile.port, b"GET / HTTP/1.1\r\nHost: garbage.sim.test\r\n\r\n", server_hostname="garbage.sim.test"
    )
    assert len(out) == 64 * 1024 and not out.startswith(b"HTTP/")
    _still_alive(hostile)


def test_huge_headers(hostile: ExchangeSimulator) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        _get(hostile, "huge_headers", timeout=2)
    out = _raw_exchange(
        hostile.port, b"GET / HTTP/1.1\r\nHost: huge-headers.sim.test\r\n\r\n", server_hostname="huge-headers.sim.test"
    )
    head = out.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert sum(line.startswith(b"X-Filler-") for line in head) == 200
    assert all(len(line) <= 8192 for line in head) and len(out) > 200 * 8000
    _still_alive(hostile)


@pytest.mark.parametrize(("name", "error"), [("xml_bomb", EntitiesForbidden), ("xml_xxe", EntitiesForbidden)])
def test_xml_attacks_are_refused_by_defusedxml(hostile: ExchangeSimulator, name: str, error: type[Exception]) -> None:
    body = _get(hostile, name, EXPORT_REQUEST_PATH).content
    assert b"<!DOCTYPE" in body
    with pytest.raises((error, DTDForbidden)):
        DET.fromstring(body, forbid_dtd=True)
    with pytest.raises(error):
        DET.fromstring(body)


def test_redirects_point_where_documented(hostile: ExchangeSimulator) -> None:
    assert _get(hostile, "redirect_loop").headers["location"] == "https://redirect-loop.sim.test/owa/"
    assert _get(hostile, "redirect_loop", LOGON).headers["location"] == "/owa/"
    assert _get(hostile, "redirect_offhost").headers["location"].startswith("https://169.254.169.254/")
    assert _get(hostile, "redirect_offhost", LOGON).headers["location"] == "http://127.0.0.1:1/"


def test_stop_ends_hostile_connections_promptly() -> None:
    sim = ExchangeSimulator(default="hang").start()
    socks = [socket.create_connection(("127.0.0.1", sim.port), timeout=2) for _ in range(20)]
    with pytest.raises(httpx.ReadTimeout):  # one hanging after TLS too
        httpx.get(sim.url(OWA), verify=False, timeout=0.3)
    start = time.monotonic()
    sim.stop()
    assert time.monotonic() - start < 10
    for s in socks:
        s.close()
    assert sim._thread is None and sim.internal_errors == []
    sim.start()  # a stopped simulator can start again (on a new port)
    try:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(sim.url(OWA), verify=False, timeout=0.3)
    finally:
        sim.stop()


def test_every_profile_can_be_the_default() -> None:
    for name, profile in PROFILES.items():
        if profile.hostile:
            continue
        with ExchangeSimulator(default=name) as sim:
            r = httpx.get(sim.url(OWA), verify=False, timeout=5)
            assert r.status_code in (200, 302, 404, 440), name
            assert sim.requests[0].profile == name


def test_profile_objects_are_accepted_directly() -> None:
    p: Profile = PROFILES["exchange2010_sp3_ru32"]
    with ExchangeSimulator(hosts={"old.test": p}) as sim:
        r = httpx.get(sim.url(OWA), headers={"Host": "old.test"}, verify=False)
        assert r.headers["X-OWA-Version"] == "14.3.513.0"
        assert "replaceCurrent=1" in r.headers["location"]
