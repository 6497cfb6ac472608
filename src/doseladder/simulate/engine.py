"""Orchestration: split trials into seeded blocks, run kernels locally or on Dask, summarise.

Reproducibility contract: for a given (design, scenario, n_trials, seed, scenario index) the
result is bit-identical whether run in one process, in K local processes, or on a Dask cluster
with any number of workers (see :mod:`.seeding`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

from doseladder import __version__
from doseladder.core.designs import Design
from doseladder.core.errors import InputError
from doseladder.simulate.compare import Comparison
from doseladder.simulate.dask_backend import (  # task / result types of run_tasks (no Dask import)
    R,
    T,
)
from doseladder.simulate.kernels import kernel_for
from doseladder.simulate.latent import PatientDraws
from doseladder.simulate.malloc import tune_malloc
from doseladder.simulate.results import (
    OCContext,
    OCStats,
    SimulationResult,
    TrialArrays,
    true_obd,
)
from doseladder.simulate.scenario import Scenario
from doseladder.simulate.seeding import BLOCK_SIZE, block_sizes

__all__ = ["BlockTask", "compare", "precompile", "run_block", "run_block_summary", "simulate"]

Progress = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class BlockTask:
    """One unit of work: a block of trials of one design under one scenario."""

    design: Design
    scenario: Scenario
    seed: int
    scenario_index: int
    block_index: int
    size: int
    max_n: int
    context: OCContext | None = None
    keep: bool = False


def run_block(task: BlockTask) -> TrialArrays:
    """Simulate one block (a pure function of the task: safe to ship to any worker)."""
    draws = PatientDraws(
        task.scenario, task.seed, task.scenario_index, task.block_index, task.size, task.max_n
    )
    return kernel_for(task.design)(task.design, draws)


BlockOutput = tuple[OCStats, TrialArrays | None]


def run_block_summary(task: BlockTask) -> BlockOutput:
    """Simulate one block and reduce it to sufficient statistics (on the worker).

    The block runs through :func:`doseladder.jit.run_compiled`: a kernel missing from the
    compiled-code cache is compiled in a short-lived child process, not in this one."""
    from doseladder.jit import run_compiled

    tune_malloc()
    arrays = run_compiled(run_block, task)
    assert task.context is not None
    return OCStats.from_arrays(arrays, task.context), (arrays if task.keep else None)


def run_tasks(
    tasks: Sequence[T],
    fn: Callable[[T], R],
    *,
    workers: int,
    scheduler: str | None,
    progress: Progress | None,
) -> list[R]:
    """``[fn(t) for t in tasks]`` in task order whatever the backend: this process, a pool of
    ``workers`` processes, or a Dask scheduler (``fn`` module-level, tasks picklable, each with
    a ``size`` in trials for ``progress``).  Design and protocol simulation both run here."""
    if scheduler is not None:
        from doseladder.simulate.dask_backend import run_tasks_on_dask

        return run_tasks_on_dask(tasks, fn, scheduler, workers=workers, progress=progress)
    if workers <= 1 or len(tasks) == 1:
        out = []
        for t in tasks:
            out.append(fn(t))
            if progress:
                progress(t.size)
        return out
    results: list[R] = []
    with ProcessPoolExecutor(max_workers=workers) as pool:
        for t, r in zip(tasks, pool.map(fn, tasks), strict=True):
            results.append(r)
            if progress:
                progress(t.size)
    return results


def _check(design: Design, scenario: Scenario, n_trials: int, seed: int, workers: int) -> None:
    if not isinstance(n_trials, int) or isinstance(n_trials, bool) or not 1 <= n_trials <= 10**8:
        raise InputError("trials", f"must be an integer in 1..100000000, got {n_trials!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise InputError("seed", f"must be a non-negative integer, got {seed!r}")
    if not isinstance(workers, int) or workers < 1 or workers > (os.cpu_count() or 1) * 8:
        raise InputError("workers", f"must be an integer in 1..{(os.cpu_count() or 1) * 8}")
    scenario.check_for(
        design.num_doses,
        needs_efficacy=design.target_kind == "obd",
    )
    kernel_for(design)  # raises if the design cannot be simulated


def _context(design: Design, scenario: Scenario) -> OCContext:
    """The truth the summary is measured against (true MTD / OBD)."""
    if design.target_kind == "obd":
        phi_t: float = design.phi_t  # type: ignore[attr-defined]
        assert scenario.p_eff is not None
        obd, _ = true_obd(
            scenario.p_tox,
            scenario.p_eff,
            phi_t,
            design.phi_e,  # type: ignore[attr-defined]
            tuple(design.utilities),  # type: ignore[attr-defined]
        )
        return OCContext(design.num_doses, scenario.true_mtd(phi_t), obd, efficacy=True)
    target = getattr(design, "target", None)
    mtd = scenario.true_mtd(target) if target is not None else None
    # responses are reported only where the design observes them (BF-BOIN's activity
    # condition); the other MTD designs' kernels draw none, and "0 responses" would mislead
    observes = design.uses_efficacy or design.backfill_cohorts
    return OCContext(design.num_doses, mtd, None, efficacy=scenario.p_eff is not None and observes)


def simulate(
    design: Design,
    scenario: Scenario,
    n_trials: int = 10_000,
    seed: int = 0,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
    keep_trials: bool = False,
    scenario_index: int = 0,
    max_n: int | None = None,
) -> SimulationResult:
    """Simulate ``n_trials`` trials of ``design`` under ``scenario``.

    Args:
        workers: local processes (1 = in this process).
        scheduler: a Dask scheduler address (``tcp://host:port``) or ``"local"`` to start a
            ``LocalCluster`` with ``workers`` workers.
        progress: called with the number of trials finished after each block.
        keep_trials: keep the per-trial arrays on the result (``result.trials``).
        scenario_index, max_n: used by :func:`compare` for common random numbers (the
            latent patients drawn per trial; default the design's maximum sample size).
    """
    _check(design, scenario, n_trials, seed, workers)
    k = max_n or _max_patients(design)
    ctx = _context(design, scenario)
    tasks = [
        BlockTask(design, scenario, seed, scenario_index, b, size, k, ctx, keep_trials)
        for b, size in enumerate(block_sizes(n_trials, BLOCK_SIZE))
    ]
    parts = run_tasks(
        tasks, run_block_summary, workers=workers, scheduler=scheduler, progress=progress
    )
    stats = OCStats.merge([p[0] for p in parts])
    kept = [p[1] for p in parts if p[1] is not None]
    return SimulationResult.from_stats(
        stats,
        ctx,
        design=design.to_dict(),
        scenario=scenario.to_dict(),
        seed=seed,
        version=__version__,
        trials=TrialArrays.concat(kept) if kept else None,
    )


def precompile(design: Design, scenario: Scenario | None = None, n_trials: int = 1_000) -> str:
    """Fill the compiled-code cache with ``design``'s simulation kernel (``doseladder compile``):
    one block of ``n_trials`` trials under ``scenario`` (default: toxicity rising from 5 % to
    50 %, efficacy from 10 % to 50 %) through :func:`doseladder.jit.run_compiled`, so a missing
    kernel is compiled by a child process.  Returns how the code was obtained (``"cached"``,
    ``"compiled in a child process"`` or ``"compiled in this process"``).  Options that take
    another path through the kernel may still compile more code on their first simulation."""
    from doseladder.jit import run_compiled_how

    if scenario is None:
        j = design.num_doses
        scenario = Scenario(
            p_tox=tuple(0.05 + 0.45 * i / max(j - 1, 1) for i in range(j)),
            p_eff=tuple(0.1 + 0.4 * i / max(j - 1, 1) for i in range(j)),
        )
    _check(design, scenario, n_trials, 0, 1)
    task = BlockTask(design, scenario, 0, 0, 0, n_trials, _max_patients(design))
    return run_compiled_how(run_block, task)[1]


def _max_patients(design: Design) -> int:
    """Maximum number of patients a trial of ``design`` can enrol."""
    n_max = getattr(design, "n_max", None)  # 3+3 resolves its default
    return int(n_max if n_max is not None else design.max_n)


def compare(
    designs: Sequence[Design] | dict[str, Design],
    scenarios: Sequence[Scenario] | dict[str, Scenario],
    n_trials: int = 10_000,
    seed: int = 0,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Comparison:
    """Simulate every design under every scenario with common random numbers.

    Scenario ``s`` uses the same random blocks for every design, so designs are compared on
    the same simulated patients.  Returns a :class:`~doseladder.simulate.compare.Comparison`.
    """
    dnames, dlist = _named(designs, "design")
    snames, slist = _named(scenarios, "scenario")
    k = max(_max_patients(d) for d in dlist)
    results: dict[tuple[str, str], SimulationResult] = {}
    for si, (sname, sc) in enumerate(zip(snames, slist, strict=True)):
        for dname, d in zip(dnames, dlist, strict=True):
            results[(dname, sname)] = simulate(
                d,
                sc,
                n_trials,
                seed,
                workers=workers,
                scheduler=scheduler,
                progress=progress,
                scenario_index=si,
                max_n=k,
            )
    return Comparison(results)


def _named(items: Iterable[Any] | dict[str, Any], what: str) -> tuple[list[str], list[Any]]:
    if isinstance(items, dict):
        return list(items), list(items.values())
    lst = list(items)
    names = []
    for i, x in enumerate(lst, start=1):
        label = getattr(x, "name", "") if what == "scenario" else ""
        names.append(str(label or (f"{x.name}-{i}" if what == "design" else f"S{i}")))
    return names, lst
