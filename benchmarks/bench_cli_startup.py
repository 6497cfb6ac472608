"""Benchmark: command-line start-up (issue #12 item 5), hyperfine-style.

Runs each command ``--runs`` times (after ``--warmup`` untimed runs), the commands alternating
within each run so that a change in the machine's load hits them alike, and prints per command
the median and minimum wall time and the median CPU time (user + system of the child, from
``resource.getrusage(RUSAGE_CHILDREN)``), then the targets as same-run ratios:

* ``doseladder --help`` <= 3 x ``python -c "import numpy"``;
* ``doseladder decide`` on a small BOIN design < 0.5 s.

CPU time is the figure to compare on a loaded machine (wall time includes waiting for a core).
``--imports`` also lists, per command, the heavy libraries it imported and the slowest
doseladder imports (``python -X importtime``, cumulative).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_cli_startup.py [--runs 10] [--imports]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOIN = ROOT / "src" / "doseladder" / "examples" / "designs" / "boin.yaml"
TITE_BOIN12 = ROOT / "src" / "doseladder" / "examples" / "designs" / "tite-boin12.yaml"
PY = sys.executable
HEAVY = ("scipy", "pandas", "numba", "sqlalchemy", "fastapi", "dask", "matplotlib", "numpy")

COMMANDS: dict[str, list[str]] = {
    "python -c 'import numpy'": [PY, "-c", "import numpy"],
    "doseladder --help": [PY, "-m", "doseladder", "--help"],
    "doseladder --version": [PY, "-m", "doseladder", "--version"],
    "doseladder decide (BOIN)": [
        PY,
        "-m",
        "doseladder",
        "decide",
        str(BOIN),
        "--outcomes",
        "1NNN 2NTN 2NNN",
    ],
}
if TITE_BOIN12.exists():
    COMMANDS["doseladder decide (TITE-BOIN12)"] = [
        PY,
        "-m",
        "doseladder",
        "decide",
        str(TITE_BOIN12),
        "--outcomes",
        "1NNE 2NTE",
    ]


def _env() -> dict[str, str]:
    src = str(ROOT / "src")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p),
    }


def run_once(argv: list[str]) -> tuple[float, float]:
    """(wall s, CPU s) of one run of ``argv``; fails on a non-zero exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, env=_env())
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imports(argv: list[str]) -> tuple[list[str], list[tuple[float, str]]]:
    """Heavy libraries imported, and the five slowest doseladder imports (cumulative s)."""
    out = subprocess.run(
        [argv[0], "-X", "importtime", *argv[1:]],
        capture_output=True,
        text=True,
        check=True,
        env=_env(),
    ).stderr
    heavy, ours = set(), []
    for line in out.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cum, name = (x.strip() for x in line.split("|"))
        if not cum.isdigit():
            continue
        top = name.split(".")[0]
        if top in HEAVY:
            heavy.add(top)
        if top == "doseladder":
            ours.append((int(cum) / 1e6, name))
    return sorted(heavy), sorted(ours, reverse=True)[:5]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--imports", action="store_true")
    args = parser.parse_args()
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}, {PY}")
    for _ in range(args.warmup):
        for argv in COMMANDS.values():
            run_once(argv)
    wall: dict[str, list[float]] = {k: [] for k in COMMANDS}
    cpu: dict[str, list[float]] = {k: [] for k in COMMANDS}
    for _ in range(args.runs):
        for name, argv in COMMANDS.items():
            w, c = run_once(argv)
            wall[name].append(w)
            cpu[name].append(c)
    print(
        f"{'command':<34} {'median wall':>11} {'min wall':>9} {'median CPU':>11}"
        f"   ({args.runs} runs)"
    )
    for name in COMMANDS:
        print(
            f"{name:<34} {statistics.median(wall[name]):10.3f}s {min(wall[name]):8.3f}s "
            f"{statistics.median(cpu[name]):10.3f}s"
        )
    np_cpu = statistics.median(cpu["python -c 'import numpy'"])
    np_wall = statistics.median(wall["python -c 'import numpy'"])
    help_cpu = statistics.median(cpu["doseladder --help"])
    help_wall = statistics.median(wall["doseladder --help"])
    dec_cpu = statistics.median(cpu["doseladder decide (BOIN)"])
    dec_wall = statistics.median(wall["doseladder decide (BOIN)"])
    print(
        f"--help / import numpy: CPU {help_cpu / np_cpu:.2f}x, wall {help_wall / np_wall:.2f}x "
        f"(target <= 3x)"
    )
    print(
        f"decide (BOIN): CPU {dec_cpu:.3f} s, wall {dec_wall:.3f} s (target < 0.5 s, "
        f"ratio CPU {dec_cpu / 0.5:.2f})"
    )
    if args.imports:
        for name, argv in COMMANDS.items():
            heavy, ours = imports(argv)
            print(f"{name}: heavy imports {heavy or 'none'}")
            for secs, mod in ours:
                print(f"    {secs:6.3f} s  {mod}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
