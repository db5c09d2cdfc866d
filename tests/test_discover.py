"""Discovery: from a domain or a mail address to its Exchange server, through a fake DNS server on
loopback (UDP and TCP) and the HTTPS simulator; the service in-process, the CLI as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.catalog import Catalog
from bot.core.discover import QueryError, online_signs, split_query
from bot.probe.dns import DnsClient
from bot.probe.prober import Prober, ProbeSettings
from bot.services.discover import DiscoverService, Discovery, parse_query
from bot.store.migrations import LATEST
from tests.fakes.dns_server import FakeDns, zones
from tests.fakes.exchange_sim import ExchangeSimulator

BUILD = "15.2.1544.11"  # the simulator's default profile below


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange2019_cu14_f5") as s:
        yield s


@pytest.fixture(scope="module")
def dns_server(sim: ExchangeSimulator) -> Iterator[FakeDns]:
    with FakeDns(zones(sim.port)) as d:
        yield d


def service(
    catalog: Catalog, server: FakeDns, sim: ExchangeSimulator, *, allow_private: bool = True
) -> DiscoverService:
    prober = Prober(catalog=catalog, settings=ProbeSettings(allow_private=allow_private))
    return DiscoverService(dns=DnsClient(servers=(("127.0.0.1", server.port),)), prober=prober, https_port=sim.port)


def discover(svc: DiscoverService, domain: str, timeout: float = 10.0) -> Discovery:
    return asyncio.run(svc.discover(domain, timeout=timeout))


def owa_hosts(sim: ExchangeSimulator) -> set[str]:
    return {r.host.rsplit(":", 1)[0] for r in sim.requests}


# --------------------------------------------------------------------------------------------- pure


def test_split_query_and_domain_validation() -> None:
    assert split_query("admin@contoso.com").domain == "contoso.com"
    assert split_query("admin@contoso.com").address == "admin@contoso.com"
    assert split_query("contoso.com").address is None
    assert parse_query("Admin@Contoso.COM").domain == "contoso.com"
    for bad in ("@contoso.com", "admin@", "a b@contoso.com", "admin@127.0.0.1", "admin@contoso.com:8443", "localhost"):
        with pytest.raises(QueryError):
            parse_query(bad)
    with pytest.raises(QueryError):
        parse_query("https://contoso.com/owa")


def test_online_signs_need_the_exact_microsoft_names() -> None:
    assert online_signs(["x-com.mail.protection.outlook.com"], [], []) != ()
    assert online_signs([], ["autodiscover.x.com", "autodiscover.outlook.com"], []) != ()
    assert online_signs([], [], ["v=spf1 include:spf.protection.outlook.com -all"]) != ()
    assert online_signs(["mail.protection.outlook.com.evil.test"], ["autodiscover.outlook.com.evil.test"], []) == ()
    assert online_signs([], [], ["include:spf.protection.outlook.com"]) == ()  # not an SPF record


# ------------------------------------------------------------------------------------------ service


def test_on_prem_domain_every_way_leads_to_the_simulator(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator
) -> None:
    found = discover(service(catalog, dns_server, sim), "contoso.test")
    assert found.exchange_online is False
    assert len(found.endpoints) == 1  # MX, autodiscover, SRV and mail. all reach 127.0.0.1 on one port
    (e,) = found.endpoints
    assert (e.host, e.port, e.address) == ("mail.contoso.test", sim.port, "127.0.0.1")
    assert e.found_by == ("mx", "autodiscover", "srv", "name")
    (r,) = found.results
    assert r.error is None and r.exchange is True and r.assessment.build == BUILD
    assert found.failures == 0


@pytest.mark.parametrize(
    ("domain", "host", "way"),
    [
        ("mx.contoso.test", "ex1.mx.contoso.test", "mx"),
        ("ad.contoso.test", "autodiscover.ad.contoso.test", "autodiscover"),
        ("srv.contoso.test", "ex.srv.contoso.test", "srv"),
    ],
)
def test_each_way_is_named(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator, domain: str, host: str, way: str
) -> None:
    sim.reset()
    found = discover(service(catalog, dns_server, sim), domain)
    assert [(e.host, e.found_by) for e in found.endpoints] == [(host, (way,))]
    assert found.results[0].assessment.build == BUILD
    assert host in owa_hosts(sim)


def test_exchange_online_is_recognised_and_microsoft_never_probed(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator
) -> None:
    sim.reset()
    found = discover(service(catalog, dns_server, sim), "fabrikam.test")
    assert found.exchange_online is True
    assert len(found.online_signs) == 3  # MX, autodiscover CNAME, SPF
    assert found.endpoints == () and found.results == ()
    assert found.failures == 0
    assert not any("outlook.com" in h for h in owa_hosts(sim))


def test_hybrid_reports_online_and_the_on_prem_endpoint(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator
) -> None:
    sim.reset()
    found = discover(service(catalog, dns_server, sim), "hybrid.test")
    assert found.exchange_online is True
    assert [(e.host, e.found_by) for e in found.endpoints] == [("owa.hybrid.test", ("name",))]
    assert found.results[0].assessment.build == BUILD
    assert not any("outlook.com" in h for h in owa_hosts(sim))


def test_private_space_is_refused_without_allow_private(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator
) -> None:
    sim.reset()
    refused = discover(service(catalog, dns_server, sim, allow_private=False), "private.test")
    assert [e.host for e in refused.endpoints] == ["mail.private.test"]
    assert all(r.error is not None and r.error.startswith("refused") for r in refused.results)
    assert refused.failures == 1
    assert sim.requests == []  # never connected
    allowed = discover(service(catalog, dns_server, sim, allow_private=True), "private.test")
    assert allowed.results[0].assessment.build == BUILD and allowed.endpoints[0].found_by == ("mx", "name")


@pytest.mark.parametrize(
    ("domain", "note"),
    [
        ("nothing.test", None),
        ("nx.test", "no such domain"),
        ("loop.test", "CNAME loop"),
        ("weird.test", "not a valid host name"),
    ],
)
def test_nothing_found(
    catalog: Catalog, dns_server: FakeDns, sim: ExchangeSimulator, domain: str, note: str | None
) -> None:
    found = discover(service(catalog, dns_server, sim), domain)
    assert found.endpoints == () and found.exchange_online is False
    assert found.failures == 1
    if note:
        assert any(note in n for n in found.notes), found.notes


def test_queries_go_over_tcp_when_udp_is_truncated(catalog: Catalog, sim: ExchangeSimulator) -> None:
    with FakeDns(zones(sim.port), tcp_only=True) as server:
        found = discover(service(catalog, server, sim), "srv.contoso.test")
    assert [e.found_by for e in found.endpoints] == [("srv",)]
    assert {t for t, _, _ in server.queries} == {"udp", "tcp"}


def test_a_name_server_that_never_answers_is_bounded_by_the_deadline(catalog: Catalog, sim: ExchangeSimulator) -> None:
    with FakeDns(mode="silent") as server:
        started = time.monotonic()
        found = discover(service(catalog, server, sim), "contoso.test", timeout=2.0)
        elapsed = time.monotonic() - started
        assert server.queries  # it was asked, and never answered
    assert found.endpoints == () and found.failures == 1
    assert any("no answer" in n or "no time" in n for n in found.notes), found.notes
    assert elapsed < 2.0 + 3.0  # the run's own deadline, with a generous margin for a loaded machine


# ---------------------------------------------------------------------------------------------- CLI


def exchbot() -> list[str]:
    """The installed console script next to this interpreter (``python -m bot`` if absent)."""
    script = Path(sys.executable).parent / "exchbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def run(args: list[str], db: Path, dns: str | None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXCHBOT_DB": str(db)}
    env.pop("EXCHBOT_ALLOW_PRIVATE", None)
    env.pop("EXCHBOT_DNS_SERVERS", None)
    if dns is not None:
        env["EXCHBOT_DNS_SERVERS"] = dns
    return subprocess.run([*exchbot(), *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)


def test_cli_discover_json(dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path) -> None:
    proc = run(["discover", "--json", "--allow-private", "srv.contoso.test"], tmp_path / "d.db", dns_server.servers)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) == {"domain", "exchange_online", "endpoints", "results"}
    assert doc["domain"] == "srv.contoso.test" and doc["exchange_online"] is False
    assert doc["endpoints"] == [
        {"host": "ex.srv.contoso.test", "port": sim.port, "found_by": ["srv"], "address": "127.0.0.1"}
    ]
    assert doc["results"][0]["build"] == BUILD
    hist = run(["history", f"ex.srv.contoso.test:{sim.port}", "--json"], tmp_path / "d.db", None)
    assert json.loads(hist.stdout)[0]["build"] == BUILD  # stored like checks


def test_cli_discover_online_text_and_nothing_found(dns_server: FakeDns, tmp_path: Path) -> None:
    online = run(["discover", "admin@fabrikam.test"], tmp_path / "o.db", dns_server.servers)
    assert online.returncode == 0, online.stderr
    assert "mail is hosted in Exchange Online: nothing to patch on premises" in online.stdout
    nothing = run(["discover", "--json", "nothing.test"], tmp_path / "o.db", dns_server.servers)
    assert nothing.returncode == 1
    assert json.loads(nothing.stdout)["endpoints"] == []


def test_cli_discover_without_allow_private_never_connects(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    sim.reset()
    proc = run(["discover", "--json", "private.test"], tmp_path / "p.db", dns_server.servers)
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["results"] and all(r["error"].startswith("refused") for r in doc["results"])
    assert sim.requests == []


def test_cli_usage_errors(tmp_path: Path) -> None:
    bad_setting = run(["discover", "contoso.test"], tmp_path / "u.db", "not-an-ip:53")
    assert bad_setting.returncode == 2
    assert "EXCHBOT_DNS_SERVERS" in bad_setting.stderr and "Traceback" not in bad_setting.stderr
    assert len(bad_setting.stderr.strip().splitlines()) == 1
    for value in ("127.0.0.1:0", "127.0.0.1:99999", "[::1", ","):
        assert run(["check", "x.test"], tmp_path / "u.db", value).returncode == 2, value
    serve = run(["serve", "--http", "--port", "0"], tmp_path / "u.db", "dns.example", timeout=30)
    assert serve.returncode == 2 and "EXCHBOT_DNS_SERVERS" in serve.stderr  # refuses to start
    not_a_domain = run(["discover", "https://contoso.test/owa"], tmp_path / "u.db", None)
    assert not_a_domain.returncode == 2 and "Traceback" not in not_a_domain.stderr


def test_cli_check_with_a_mail_address(dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path) -> None:
    proc = run(["check", "--json", "--allow-private", "admin@srv.contoso.test"], tmp_path / "c.db", dns_server.servers)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert [(d["host"], d["build"]) for d in docs] == [(f"ex.srv.contoso.test:{sim.port}", BUILD)]
    nothing = run(["check", "--json", "it@nothing.test"], tmp_path / "c.db", dns_server.servers)
    assert nothing.returncode == 1 and json.loads(nothing.stdout) == []


def test_cli_check_with_a_mail_address_in_every_output_format(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    plain = f"plain.sim.test:{sim.port}"
    endpoint = f"ex.srv.contoso.test:{sim.port}"
    common = ["--allow-private", "--resolve", "plain.sim.test:127.0.0.1", plain, "admin@srv.contoso.test"]
    db = tmp_path / "f.db"
    out = tmp_path / "out.csv"
    csv_run = run(["check", "--csv", "-o", str(out), *common], db, dns_server.servers)
    assert csv_run.returncode == 0, csv_run.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert [(f"{r['host']}:{r['port']}", r["build"]) for r in rows] == [(plain, BUILD), (endpoint, BUILD)]
    assert csv_run.stdout == ""
    assert "2 checked" in csv_run.stderr
    hist = run(["history", endpoint, "--json"], db, None)
    assert [h["build"] for h in json.loads(hist.stdout)] == [BUILD]  # the endpoint's result is stored

    jsonl = run(["check", "--jsonl", "--no-store", *common, "it@nothing.test"], tmp_path / "n.db", dns_server.servers)
    assert [json.loads(line)["host"] for line in jsonl.stdout.splitlines()] == [plain, endpoint]
    assert "exchbot: it@nothing.test: no Exchange endpoint found" in jsonl.stderr
    assert jsonl.returncode == 1  # nothing behind one address: as a host that could not be checked
    assert not (tmp_path / "n.db").exists()  # --no-store: not even created

    # 2019 CU14 is end-of-life: --fail-on applies to what was found behind the address as well
    fail = run(
        ["check", "--jsonl", "--fail-on", "eol", "--allow-private", "admin@srv.contoso.test"], db, dns_server.servers
    )
    assert fail.returncode == 3, fail.stderr

    online = run(["check", "--jsonl", "admin@fabrikam.test"], db, dns_server.servers)
    assert online.returncode == 0 and online.stdout == ""
    assert "admin@fabrikam.test: mail is hosted in Exchange Online" in online.stderr


def test_cli_check_with_a_mail_address_keeps_every_result_when_storing_fails(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    db = tmp_path / "newer.db"
    run(["watch", "add", "seed.example.com"], db, None)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")  # a newer exchbot's database: refused
    conn.commit()
    conn.close()
    plain = f"plain.sim.test:{sim.port}"
    proc = run(
        [
            "check",
            "--json",
            "--allow-private",
            "--resolve",
            "plain.sim.test:127.0.0.1",
            plain,
            "admin@srv.contoso.test",
        ],
        db,
        dns_server.servers,
    )
    docs = json.loads(proc.stdout)
    assert [(d["host"], d["build"]) for d in docs] == [(plain, BUILD), (f"ex.srv.contoso.test:{sim.port}", BUILD)]
    assert proc.returncode == 1
    assert "could not be stored" in proc.stderr and "newer exchbot" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_dead_dns_does_not_starve_live_hosts(sim: ExchangeSimulator, tmp_path: Path) -> None:
    """Issue 15: 12 names whose resolver never answers and 8 live hosts, --timeout 2, --concurrency 20:
    all 20 results, the 8 live hosts judged, and the process ends within 7 s of starting."""
    dead = [f"dead{i}.never.test" for i in range(12)]
    live = [f"live{i}.sim.test" for i in range(8)]
    pins = [x for n in live for x in ("--resolve", f"{n}:127.0.0.1")]
    targets = [f"{n}:{sim.port}" for n in live[:4]] + dead + [f"{n}:{sim.port}" for n in live[4:]]
    with FakeDns(mode="silent") as server:
        started = time.monotonic()
        proc = run(
            ["check", "--json", "--timeout", "2", "--concurrency", "20", "--allow-private", *pins, *targets],
            tmp_path / "dead.db",
            server.servers,
            timeout=60,
        )
        elapsed = time.monotonic() - started
        assert len({q for _, q, _ in server.queries}) == 12  # every dead name was asked of it
    docs = json.loads(proc.stdout)
    assert [d["target"] for d in docs] == targets
    judged = [d for d in docs if d["target"].startswith("live")]
    assert len(judged) == 8 and all(d["error"] is None and d["build"] == BUILD for d in judged)
    assert all("DNS" in d["error"] for d in docs if d["target"].startswith("dead"))
    assert proc.returncode == 1
    assert elapsed < 7.0, elapsed


# ------------------------------------------------------------------------ many addresses at once


class _Gated(DiscoverService):
    """Discovery behind the interface, in memory: ``first.test`` answers only once ``second.test``
    has started (so it cannot finish if discoveries run one after another); records what ran when."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(dns=DnsClient(servers=(("127.0.0.1", 9),)), prober=Prober(catalog=catalog))
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.running = self.most = self.most_tasks = 0
        self.second_started: asyncio.Event | None = None

    async def discover(self, domain: str, *, timeout: float, address: str | None = None, **_: object) -> Discovery:
        if self.second_started is None:
            self.second_started = asyncio.Event()
        self.started.append(domain)
        self.running += 1
        self.most = max(self.most, self.running)
        self.most_tasks = max(self.most_tasks, len(asyncio.all_tasks()))  # started, waiting or running
        try:
            if domain == "second.test":
                self.second_started.set()
            if domain == "first.test":
                await asyncio.wait_for(self.second_started.wait(), timeout)
            if domain == "slow.test":
                await asyncio.sleep(60)
            await asyncio.sleep(0.01)
            return Discovery(domain, address, False, (), (), (), ())
        except asyncio.CancelledError:
            self.cancelled.append(domain)
            raise
        finally:
            self.running -= 1


def test_addresses_are_discovered_a_few_at_once_and_handed_out_in_input_order(catalog: Catalog) -> None:
    from bot.services.discover import run_discoveries

    svc = _Gated(catalog)
    domains = ["first.test", "second.test", "third.test", "fourth.test", "fifth.test"]
    queries = [parse_query(f"it@{d}") for d in domains]
    got = [(q.domain, found.domain, found.address) for q, found in run_discoveries(svc, queries, 5.0, at_once=2)]
    assert got == [(d, d, f"it@{d}") for d in domains]  # first.test finished only because second.test ran
    assert svc.most == 2  # never more than at_once


def test_a_long_list_of_addresses_is_not_all_started_at_once(catalog: Catalog) -> None:
    from bot.services.discover import run_discoveries

    svc = _Gated(catalog)
    queries = [parse_query(f"n{i}.test") for i in range(40)]
    assert [q.domain for q, _ in run_discoveries(svc, queries, 5.0, at_once=3)] == [q.domain for q in queries]
    assert svc.most == 3 and svc.most_tasks <= 6  # twice at_once started and not yet handed out


def test_stopping_early_cancels_the_discoveries_still_running(catalog: Catalog) -> None:
    from bot.services.discover import run_discoveries

    svc = _Gated(catalog)
    queries = [parse_query(d) for d in ("third.test", "slow.test")]
    found = run_discoveries(svc, queries, 5.0, at_once=2)
    assert next(found)[0].domain == "third.test"
    found.close()
    assert svc.cancelled == ["slow.test"] and svc.running == 0


def test_cli_check_reads_mail_addresses_from_a_file(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    plain = f"plain.sim.test:{sim.port}"
    listing = tmp_path / "targets.txt"
    listing.write_text(
        "# hosts and mailboxes\n"
        f"{plain}\n"
        "admin@srv.contoso.test\n"
        "it@nothing.test\n"
        "root@127.0.0.1\n"  # not a domain: skipped and named
        "admin@fabrikam.test\n"
    )
    args = ["check", "--json", "--allow-private", "--resolve", "plain.sim.test:127.0.0.1", "-f", str(listing)]
    proc = run(args, tmp_path / "f.db", dns_server.servers)
    docs = json.loads(proc.stdout)
    assert [(d["host"], d["build"]) for d in docs] == [(plain, BUILD), (f"ex.srv.contoso.test:{sim.port}", BUILD)]
    assert f"{listing}:5: " in proc.stderr and "(line skipped)" in proc.stderr
    assert "it@nothing.test: no Exchange endpoint found" in proc.stderr
    assert "admin@fabrikam.test: mail is hosted in Exchange Online" in proc.stderr
    assert proc.returncode == 1  # nothing behind it@nothing.test: as a host that could not be checked

    only_addresses = tmp_path / "mailboxes.txt"
    only_addresses.write_text("admin@srv.contoso.test\nnot a target\n")
    text = run(["check", "--allow-private", "-f", str(only_addresses)], tmp_path / "f.db", dns_server.servers)
    assert text.returncode == 0, text.stderr
    assert f"ex.srv.contoso.test:{sim.port}" in text.stdout and BUILD in text.stdout
    assert f"{only_addresses}:2: " in text.stderr

    watch = run(["watch", "add", "-f", str(only_addresses)], tmp_path / "f.db", None)
    assert watch.returncode == 2  # the watchlist takes hosts only: no valid line, a usage error
    assert f"{only_addresses}:1: " in watch.stderr


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_discovering_several_addresses_shows_progress_on_a_terminal(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    from bot.cli.batch_output import JsonlSink
    from bot.cli.discover_cmd import check_addresses
    from bot.config import Settings

    settings = Settings(
        db_path=tmp_path / "p.db", allow_private=True, dns_servers=(("127.0.0.1", dns_server.port),), timeout=10
    )
    out, tty = io.StringIO(), _Tty()
    queries = [parse_query(a) for a in ("admin@srv.contoso.test", "it@nothing.test", "admin@fabrikam.test")]
    done = check_addresses(settings, queries, JsonlSink(out), start=0, text_out=None, store=False, progress_to=tty)
    assert [json.loads(line)["host"] for line in out.getvalue().splitlines()] == [f"ex.srv.contoso.test:{sim.port}"]
    assert done.not_found == 1 and len(done.results) == 1
    shown = tty.getvalue()
    assert [f"discovered {n}/3" in shown for n in range(4)] == [True, True, True, False]  # never "3/3"
    assert shown.endswith("\r\x1b[K")  # wiped at the end

    piped = io.StringIO()
    check_addresses(
        settings, queries[:2], JsonlSink(io.StringIO()), start=0, text_out=None, store=False, progress_to=piped
    )
    assert piped.getvalue() == ""  # not a terminal: no progress line


def test_concurrency_bounds_how_many_addresses_are_discovered_at_once(
    dns_server: FakeDns, sim: ExchangeSimulator, tmp_path: Path
) -> None:
    """--concurrency counts hosts; each discovery checks its endpoints at once, so a quarter as many
    addresses are discovered at once, at least one: with --concurrency 1, every DNS question about
    the first domain is asked before any about the second."""
    from bot.cli.batch_output import JsonlSink
    from bot.cli.discover_cmd import check_addresses
    from bot.config import Settings
    from bot.services.discover import discoveries_at_once

    assert [discoveries_at_once(n) for n in (1, 3, 4, 20, 200)] == [1, 1, 1, 5, 50]
    queries = [parse_query(a) for a in ("admin@srv.contoso.test", "it@nothing.test")]

    def asked(concurrency: int) -> list[str]:
        """The domain each DNS question of the run was about, in the order the server got them."""
        settings = Settings(
            db_path=tmp_path / "c.db",
            allow_private=True,
            dns_servers=(("127.0.0.1", dns_server.port),),
            timeout=10,
            concurrency=concurrency,
        )
        before = len(dns_server.queries)
        check_addresses(settings, queries, JsonlSink(io.StringIO()), start=0, text_out=None, store=False)
        names = [q for _, q, _ in dns_server.queries[before:]]
        return ["nothing" if q.rstrip(".").endswith("nothing.test") else "contoso" for q in names]

    one_at_a_time = asked(1)
    assert "nothing" in one_at_a_time and "contoso" in one_at_a_time
    first_nothing = one_at_a_time.index("nothing")
    assert "contoso" not in one_at_a_time[first_nothing:]  # the second began after the first ended
    together = asked(20)
    assert "contoso" in together[together.index("nothing") :]  # the two ran side by side


class _Leaky(DiscoverService):
    """Discovery in memory that leaves a task of its own running after it returns, as a library's
    background work can; records whether that task was cancelled."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__(dns=DnsClient(servers=(("127.0.0.1", 9),)), prober=Prober(catalog=catalog))
        self.cleaned_up: list[str] = []

    async def discover(self, domain: str, *, timeout: float, address: str | None = None, **_: object) -> Discovery:
        async def background() -> None:
            try:
                await asyncio.sleep(60)
            except asyncio.CancelledError:
                self.cleaned_up.append(domain)
                raise

        asyncio.get_running_loop().create_task(background())
        return Discovery(domain, address, False, (), (), (), ())


def test_what_discoveries_leave_running_is_cancelled_before_their_loop_closes(catalog: Catalog) -> None:
    from bot.services.discover import run_discoveries

    svc = _Leaky(catalog)
    queries = [parse_query(d) for d in ("one.test", "two.test")]
    assert [q.domain for q, _ in run_discoveries(svc, queries, 5.0, at_once=2)] == ["one.test", "two.test"]
    assert sorted(svc.cleaned_up) == ["one.test", "two.test"]  # cancelled, not destroyed with the loop


def _busiest(sims: list[ExchangeSimulator], latency: float) -> int:
    """The most hosts the simulators saw being checked at one moment: a host counts from its first
    request until its last request's answer (``latency`` later)."""
    spans: dict[str, list[float]] = {}
    for r in (r for sim in sims for r in sim.requests):
        span = spans.setdefault(r.host.rsplit(":", 1)[0], [r.monotonic, r.monotonic])
        span[0], span[1] = min(span[0], r.monotonic), max(span[1], r.monotonic)
    edges = sorted([(a, 1) for a, _ in spans.values()] + [(b + latency, -1) for _, b in spans.values()])
    busiest = running = 0
    for _, step in edges:  # at a tie an end sorts first: a host that starts as another ends is not "at once"
        running += step
        busiest = max(busiest, running)
    return busiest


@contextlib.contextmanager
def _three_servers(latency: float) -> Iterator[tuple[list[ExchangeSimulator], FakeDns]]:
    """Three simulators (one endpoint is one address and port) and a DNS server whose domains
    one.test and two.test each name all three in SRV records."""
    with contextlib.ExitStack() as stack:
        sims = [
            stack.enter_context(ExchangeSimulator(default="exchange2019_cu14_f5", latency=latency)) for _ in range(3)
        ]
        records = [
            rec
            for d in ("one", "two")
            for i, sim in enumerate(sims)
            for rec in (
                (f"_autodiscover._tcp.{d}.test", "SRV", f"0 0 {sim.port} ex{i}.{d}.test."),
                (f"ex{i}.{d}.test", "A", "127.0.0.1"),
            )
        ]
        yield sims, stack.enter_context(FakeDns(records))


def test_the_endpoints_of_all_discoveries_share_one_gate_of_hosts(catalog: Catalog) -> None:
    """--concurrency counts hosts, also behind mail addresses: the endpoints of discoveries running
    side by side pass one gate, so no more than that many are checked at any moment (each
    discovery used to check all of its own at once, on top of the others)."""
    from bot.services.discover import run_discoveries

    latency = 0.3
    with _three_servers(latency) as (sims, server):
        queries = [parse_query(f"it@{d}.test") for d in ("one", "two")]

        def busiest(hosts_at_once: int | None) -> int:
            for sim in sims:
                sim.reset()
            svc = service(catalog, server, sims[0])
            found = [f for _, f in run_discoveries(svc, queries, 20.0, at_once=2, hosts_at_once=hosts_at_once)]
            assert [len(f.endpoints) for f in found] == [3, 3]
            assert all(r.error is None and r.assessment.build == BUILD for f in found for r in f.results)
            return _busiest(sims, latency)

        assert busiest(2) == 2
        assert busiest(None) == 6  # without a shared gate: every endpoint of both discoveries at once


def test_waiting_at_the_gate_takes_nothing_from_an_endpoints_own_check(catalog: Catalog) -> None:
    """One host at a time, three endpoints answering after 0.8 s each, a 2 s discovery: the third
    passes the gate after about 1.7 s, yet it is checked with the time that was left when it
    reached the gate, not reported as "no time left" (the user's throttle is not the host's fault)."""
    from bot.services.discover import run_discoveries

    with _three_servers(0.8) as (sims, server):
        svc = service(catalog, server, sims[0])
        ((_, found),) = list(run_discoveries(svc, [parse_query("it@one.test")], 2.0, at_once=1, hosts_at_once=1))
    assert len(found.results) == 3
    assert [r.error for r in found.results] == [None, None, None]
    assert all(r.assessment.build == BUILD for r in found.results)
    assert _busiest(sims, 0.8) == 1
