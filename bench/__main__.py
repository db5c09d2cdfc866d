"""Run the benchmarks: ``python -m bench`` (all) or ``python -m bench process probe``."""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = {
    "process": "bench.bench_process",
    "leaf": "bench.bench_leaf",
    "probe": "bench.bench_probe",
    "store": "bench.bench_store",
    "exposure": "bench.bench_exposure",
    "slack": "bench.bench_slack",
}


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}", file=sys.stderr)
        return 2
    for name in names:
        try:
            module = importlib.import_module(BENCHES[name])
        except ModuleNotFoundError as exc:
            print(f"== {name}: not available ({exc})\n")
            continue
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"   ({time.perf_counter() - started:.0f} s)\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
