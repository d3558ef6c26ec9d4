"""How long the user waits for the command line to answer (run by hand; figures go to docs/benchmarks.md).

Each command runs in a fresh interpreter, as when a user types it, alternating
with the baseline ``python -c "import typer"`` so both see the same machine
state; the median of ``--repeat`` runs of each is reported with the ratio.
The bar (issue 9): ``retentio --help`` within 3x the baseline.

    python benchmarks/bench_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BASELINE = [sys.executable, "-c", "import typer"]
COMMANDS = {
    "retentio --help": [sys.executable, "-m", "retentio", "--help"],
    "retentio --version": [sys.executable, "-m", "retentio", "--version"],
    "retentio import --help": [sys.executable, "-m", "retentio", "import", "--help"],
    "retentio flows --help": [sys.executable, "-m", "retentio", "flows", "--help"],
}


def once(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=15)
    args = ap.parse_args()
    env = {**os.environ, "RETENTIO_DATABASE_URL": f"sqlite:///{tempfile.mkdtemp()}/bench.db"}
    for lang in ("de", "en"):  # warm the file cache and compile the catalogue once, outside the timing
        subprocess.run(COMMANDS["retentio --help"], env={**env, "RETENTIO_LANG": lang}, check=True,
                       stdout=subprocess.DEVNULL)
    results = {}
    for name, cmd in COMMANDS.items():
        base, mine = [], []
        for _ in range(args.repeat):
            base.append(once(BASELINE, env))
            mine.append(once(cmd, env))
        b, m = statistics.median(base), statistics.median(mine)
        results[name] = {"median_s": round(m, 3), "baseline_s": round(b, 3), "ratio": round(m / b, 2)}
        print(f"{name:28s} {m:6.3f} s   import typer {b:6.3f} s   ratio {m / b:4.2f}")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
