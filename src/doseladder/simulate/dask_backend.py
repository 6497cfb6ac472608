"""Run simulation blocks on a Dask distributed cluster (``pip install doseladder[dask]``).

``scheduler`` is an address (``tcp://host:port``) of a running scheduler, or ``"local"`` to
start a ``LocalCluster`` with ``workers`` single-threaded worker processes.  The local cluster
is kept for the rest of the process and reused by later simulations with the same ``workers``,
so ``compare`` over many designs and scenarios starts one cluster; :func:`close_clients` closes
it (also at exit).  A client of a scheduler address is opened and closed per call.
Blocks are seeded independently of where they run, so results equal the local run.
"""

from __future__ import annotations

import atexit
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from doseladder.core.errors import InputError

__all__ = [
    "WORKER_CONFIG",
    "close_clients",
    "dask_setup",
    "local_cluster",
    "run_tasks_on_dask",
]

#: Dask settings for simulation workers: no statistical profiler (it samples every worker's
#: stack every 10 ms, CPU taken from the kernels) and a slower system monitor.  ``--scheduler
#: local`` applies them; for a cluster of your own put them in its Dask config (docs/cluster.md).
WORKER_CONFIG: dict[str, object] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
}


class _Sized(Protocol):
    @property
    def size(self) -> int: ...


T = TypeVar("T", bound=_Sized)
R = TypeVar("R")


def dask_setup(worker: Any = None) -> None:
    """Dask worker preload hook (``--preload doseladder.simulate.dask_backend``; ``--scheduler
    local`` sets it): import the simulation engine and every kernel module (NumPy, SciPy, Numba,
    the compiled rules) while the worker starts, so that its first task does not pay ~1 s of
    imports -- with the compiled kernels a block takes ~0.1 s, and two workers each paying the
    imports inside the timed run cost several points of parallel efficiency."""
    del worker
    from importlib import import_module

    from doseladder.simulate import engine  # noqa: F401
    from doseladder.simulate.kernels import KERNELS

    for module in sorted({m for m, _ in KERNELS.values()}):
        import_module(f"doseladder.simulate.kernels.{module}")


def local_cluster(workers: int) -> Any:
    """A ``LocalCluster`` for simulation: ``workers`` single-threaded worker processes, the
    malloc thresholds (:data:`~doseladder.simulate.malloc.MALLOC_ENV`) set by the nanny before
    it spawns each worker (glibc reads them at start-up), :data:`WORKER_CONFIG`, and the
    simulation modules imported at start-up (:func:`dask_setup`)."""
    import dask
    from dask.distributed import LocalCluster

    from doseladder.simulate.malloc import MALLOC_ENV

    environ = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **MALLOC_ENV}
    with dask.config.set({**WORKER_CONFIG, "distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(
            n_workers=max(workers, 1),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            preload=[__name__],
        )


#: workers -> (client, its LocalCluster) of ``scheduler="local"``: kept for the process's life,
#: so that ``compare`` / ``sweep`` / several scenarios start one cluster, not one per
#: simulation (closed by :func:`close_clients`, registered with ``atexit``)
_CLIENTS: dict[int, tuple[Any, Any]] = {}


def _client(scheduler: str, workers: int) -> Any:
    """A connected client for ``scheduler``: for ``"local"`` the client of a
    :func:`local_cluster` of ``workers`` workers, kept and reused while it runs; for an
    address a new client (the caller closes it)."""
    from dask.distributed import Client

    if scheduler != "local":
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InputError(
                "scheduler",
                f"{scheduler!r} is not a scheduler address like tcp://host:8786 or 'local'",
            )
        try:
            return Client(scheduler, timeout="10s")
        except OSError as exc:
            raise InputError("scheduler", f"cannot connect to {scheduler}: {exc}") from None
    key = max(workers, 1)
    cached = _CLIENTS.get(key)
    if cached is not None:
        if cached[0].status == "running":
            return cached[0]
        _close(_CLIENTS.pop(key))
    cluster = local_cluster(workers)
    client = Client(cluster)
    if not _CLIENTS:
        atexit.register(close_clients)
    _CLIENTS[key] = (client, cluster)
    return client


def _close(entry: tuple[Any, Any]) -> None:
    client, cluster = entry
    try:
        client.close()
    finally:
        if cluster is not None:
            cluster.close()


def close_clients() -> None:
    """Close every client (and local cluster) this process opened."""
    while _CLIENTS:
        _close(_CLIENTS.popitem()[1])


def run_tasks_on_dask(
    tasks: Sequence[T],
    fn: Callable[[T], R],
    scheduler: str,
    *,
    workers: int = 2,
    progress: Callable[[int], None] | None = None,
) -> list[R]:
    """``[fn(t) for t in tasks]`` on a Dask cluster, in task order (``fn`` must be a
    module-level function, ``tasks`` picklable; each task has a ``size`` in trials)."""
    try:
        from dask.distributed import as_completed
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError(
            "scheduler", "Dask is not installed: pip install 'doseladder[dask]'"
        ) from None

    client = _client(scheduler, workers)
    remote = scheduler != "local"
    try:
        futures = client.map(fn, list(tasks), pure=False)
        index = {f.key: i for i, f in enumerate(futures)}
        results: list[Any] = [None] * len(futures)
        for fut in as_completed(futures):
            i = index[fut.key]
            results[i] = fut.result()
            if progress:
                progress(tasks[i].size)
        out: list[R] = results
        return out
    except BaseException:
        if not remote:  # an interrupted or failed run may leave tasks behind: do not reuse
            close_clients()
        raise
    finally:
        if remote:
            client.close()
