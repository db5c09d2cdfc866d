"""``exchbot build`` as a user runs it: a real subprocess, JSON on stdout only."""

from __future__ import annotations

import json
import subprocess
import sys

ASSESSMENT_KEYS = {
    "input",
    "build",
    "precision",
    "product",
    "cu",
    "update",
    "release_date",
    "eol",
    "families",
    "cves",
    "advice",
    "error",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60, check=False)


def test_json_array_in_input_order() -> None:
    proc = run("build", "--json", "15.01.2375.037", "garbage", "15.2.2562.17", "15.1.2375")
    assert proc.returncode == 1  # one input was not a build
    out = json.loads(proc.stdout)
    assert [a["input"] for a in out] == ["15.01.2375.037", "garbage", "15.2.2562.17", "15.1.2375"]
    for a in out:
        assert set(a) >= ASSESSMENT_KEYS
    assert out[0]["build"] == "15.1.2375.37" and out[0]["families"]["ProxyNotShell"] == "patched"
    assert out[1]["error"] and out[1]["build"] is None
    assert out[2]["product"] == "Exchange SE" and out[2]["eol"] is False
    assert out[3]["precision"] == 3 and out[3]["update"] is None
    cve = out[0]["cves"][0]
    assert set(cve) >= {"id", "family", "status", "fixed_in", "kev"}


def test_all_valid_exits_zero_and_text_output() -> None:
    proc = run("build", "15.2.986.30", "14.3.513.0")
    assert proc.returncode == 0, proc.stderr
    assert "VULNERABLE" in proc.stdout and "Exchange 2010" in proc.stdout
    single = run("build", "15.2.986.30")
    assert "ProxyNotShell: VULNERABLE" in single.stdout
    assert "advice:" in single.stdout


def test_usage_error_without_arguments() -> None:
    proc = run("build")
    assert proc.returncode == 2
    assert "Usage" in proc.stderr


def test_hostile_input_is_data_not_a_crash() -> None:
    proc = run("build", "--json", "<!channel>", "x" * 5000, "15.1.2375.37\n; rm -rf /")
    out = json.loads(proc.stdout)
    assert len(out) == 3 and all(a["error"] for a in out)
    assert "Traceback" not in proc.stderr


def test_cves_that_cannot_be_told_are_named_in_the_text() -> None:
    """Silence must never read as "patched": every CVE judged neither vulnerable nor patched (and
    not merely configuration-dependent) is named in the detailed text answer."""
    for build in ("15.1.2375", "15.1.2507.6"):  # a CU without its update level; an older SU
        doc = json.loads(run("build", "--json", build).stdout)[0]
        unknown = [c["id"] for c in doc["cves"] if c["status"] == "unknown" and not c.get("config_dependent")]
        text = run("build", build).stdout
        if unknown:
            line = next(x for x in text.splitlines() if x.strip().startswith("cannot tell:"))
            assert f"{len(unknown)} CVE" in line and unknown[0] in line
        else:
            assert not any(x.strip().startswith("cannot tell:") for x in text.splitlines())
