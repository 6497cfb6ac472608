"""Benchmark: 10,000 trials of the seed 000 protocol (STR-P004) through simulate_protocol.

Protocol ``str-p004-nct07143617`` (TITE-BOIN12 from DL1, fallback to DL-1, SLE-ITP driving,
SLE-other and IIM enrolled at confirmed-safe doses, pooled safety monitor, 39 in total) under
its illustrative example scenario ``protocols/scenarios/str-p004-nct07143617.yaml``: one block
of 10,000 trials in one process (``doseladder.simulate.protocol.simulate_protocol``), best of
``--repeats`` with ``time.perf_counter`` after a warm-up run.  Prints the time, the trials per
second and a few OCs (fallback rate vs its exact binomial value 1 - (1 - p_DL1)^3).

    .venv/bin/python benchmarks/bench_protocol.py [--trials 10000] [--repeats 3] [--workers 1]
"""

from __future__ import annotations

import argparse
import time

from doseladder.io.scenario_file import load_protocol_scenario
from doseladder.protocols import library_dir, load_shipped
from doseladder.simulate.protocol import simulate_protocol

NAME = "str-p004-nct07143617"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    protocol = load_shipped(NAME)
    scenario = load_protocol_scenario(library_dir() / "scenarios" / f"{NAME}.yaml")
    simulate_protocol(protocol, scenario, 500, seed=1)  # warm-up: imports, cached tables
    times = []
    res = None
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        res = simulate_protocol(protocol, scenario, args.trials, seed=2024, workers=args.workers)
        times.append(time.perf_counter() - t0)
    assert res is not None
    best = min(times)
    p_dl1 = scenario.truth("SLE-ITP").p_tox[1]
    print(
        f"simulate_protocol {NAME}, {args.trials:,} trials, {args.workers} worker(s): "
        f"{best:.2f} s (best of {args.repeats}; {args.trials / best:,.0f} trials/s)"
    )
    print(
        f"  fallback fired {res.metric('fallback_fired_pct'):.2f} % "
        f"(exact {100 * (1 - (1 - p_dl1) ** 3):.2f} %), "
        f"OBD selected {res.metric('correct_obd_pct'):.1f} %, "
        f"mean n {res.metric('total_n'):.1f} "
        f"(SLE-ITP {res.metric('total_n', 'SLE-ITP'):.1f}, "
        f"SLE-other {res.metric('total_n', 'SLE-other'):.1f}, "
        f"IIM {res.metric('total_n', 'IIM'):.1f}), "
        f"duration {res.metric('duration'):.0f} days"
    )


if __name__ == "__main__":
    main()
