"""Local demo: assess a few real-world build numbers offline (no tokens, no network)."""

from __future__ import annotations

import subprocess
import sys

SAMPLES = ["15.2.2562.53", "15.2.1748.36", "15.1.2375.37", "15.2.986.30", "15.01.2176.009", "15.1.2375",
           "14.3.513.0", "15.20.485.0"]


def main() -> int:
    print("$ exchbot build " + " ".join(SAMPLES), flush=True)
    return subprocess.call([sys.executable, "-m", "bot", "build", *SAMPLES])


if __name__ == "__main__":
    sys.exit(main())
