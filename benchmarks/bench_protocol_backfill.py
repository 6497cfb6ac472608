"""Benchmark: protocol simulation with backfill vs the same protocol without it.

``protocols/examples/str-p004-backfill-example.yaml`` (seed 000 with BOIN, target 0.35, and
``rules.backfill`` on) and the same file with ``rules.backfill.enabled: false``, under seed 000's
example scenario: ``--trials`` trials in one process, the two alternating ``--repeats`` times
after a warm-up; CPU time (``time.process_time``) of each run, best of the repeats, and the
same-run ratio (the figure that survives a loaded machine).

    .venv/bin/python benchmarks/bench_protocol_backfill.py [--trials 10000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import copy
import gc
import time
from typing import Any

import yaml

from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import library_dir, protocol_from_dict
from doseladder.simulate.protocol import simulate_protocol


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    data: dict[str, Any] = yaml.safe_load(
        (library_dir() / "examples" / "str-p004-backfill-example.yaml").read_text()
    )
    off = copy.deepcopy(data)
    off["rules"]["backfill"]["enabled"] = False
    protocols = {"backfill": protocol_from_dict(data), "no backfill": protocol_from_dict(off)}
    scenario = load_protocol_scenario(library_dir() / "scenarios" / "str-p004-nct07143617.yaml")
    for p in protocols.values():
        simulate_protocol(p, scenario, 500, seed=1)  # warm-up
    best = {k: float("inf") for k in protocols}
    res = {}
    gc.disable()
    try:
        for _ in range(args.repeats):
            for name, p in protocols.items():
                t0 = time.process_time()
                res[name] = simulate_protocol(p, scenario, args.trials, seed=2024)
                best[name] = min(best[name], time.process_time() - t0)
    finally:
        gc.enable()
    for name in protocols:
        r = res[name]
        bf = r.metric("backfill_n", "SLE-ITP") if name == "backfill" else 0.0
        print(
            f"{name:12s} {args.trials:,} trials: {best[name]:.2f} s CPU "
            f"({args.trials / best[name]:,.0f} trials/s); SLE-ITP n "
            f"{r.metric('total_n', 'SLE-ITP'):.1f} (backfill {bf:.1f}), "
            f"MTD selected {r.metric('correct_mtd_pct'):.1f} %, "
            f"duration {r.metric('duration'):.0f} days"
        )
    print(f"ratio backfill / no backfill (same run): {best['backfill'] / best['no backfill']:.2f}")


if __name__ == "__main__":
    main()
