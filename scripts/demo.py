"""Local demo, no tokens and no network: assess build numbers, then check live (simulated)
Exchange servers on 127.0.0.1 with the real prober, and read the stored history back."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.exchange_sim import ExchangeSimulator  # noqa: E402  (needs the repository on sys.path)

SAMPLES = [
    "15.2.2562.53",
    "15.2.1748.36",
    "15.1.2375.37",
    "15.2.986.30",
    "15.01.2176.009",
    "15.1.2375",
    "14.3.513.0",
    "15.20.485.0",
]
HOSTS = {
    "mail.contoso.test": "exchange2019_cu11_exporttool",
    "owa.fabrikam.test": "exchange_se_current",
    "webmail.tailspin.test": "exchange2019_cu15_spoofed",
    "portal.adatum.test": "not_exchange",
}


def exchbot(*args: str, env: dict[str, str]) -> int:
    print(f"\n$ exchbot {' '.join(args)}", flush=True)
    return subprocess.call([sys.executable, "-m", "bot", *args], env=env, cwd=ROOT)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, ExchangeSimulator(hosts=HOSTS) as sim:
        env = {
            **os.environ,
            "EXCHBOT_DB": str(Path(tmp) / "demo.db"),
            "EXCHBOT_RESOLVE": ",".join(f"{h}:127.0.0.1" for h in HOSTS),
        }
        exchbot("build", *SAMPLES, env=env)
        print(
            f"\n# {len(HOSTS)} simulated servers on 127.0.0.1:{sim.port} (HTTPS, self-signed); "
            "--allow-private because they are local",
            flush=True,
        )
        targets = [f"{h}:{sim.port}" for h in HOSTS]
        exchbot("check", *targets, "--allow-private", env=env)
        exchbot("check", targets[2], "--allow-private", env=env)
        exchbot("history", targets[2], env=env)
    return 0


if __name__ == "__main__":
    sys.exit(main())
