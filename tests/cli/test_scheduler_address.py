"""``--scheduler tcp://host:port`` against a real ``dask scheduler`` and ``dask worker``.

The test starts both as separate processes (the way a cluster is run: nothing shared with
this process but the address), runs ``doseladder simulate --scheduler <address> --json`` and
compares the output with the same command run in this process: the results must be equal
to the last digit.  It also checks that the worker received the simulation (the scheduler
saw tasks) and that an address nobody listens on is refused in one line naming the option.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app

pytest.importorskip("dask.distributed")

DESIGN = Path(str(files("doseladder.examples"))) / "designs" / "boin.yaml"
DASK = Path(sys.executable).parent / "dask"
SRC = Path(__file__).resolve().parents[2] / "src"


@pytest.fixture(autouse=True)
def _fresh_clients() -> Iterator[None]:
    """Each test starts without (and leaves no) cached Dask client."""
    from doseladder.simulate.dask_backend import close_clients

    close_clients()
    yield
    close_clients()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def scheduler_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if not DASK.exists():
        pytest.skip("the dask command line is not installed next to this Python")
    tmp = tmp_path_factory.mktemp("dask")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
    }
    address = f"tcp://127.0.0.1:{_free_port()}"
    procs = [
        subprocess.Popen(
            [
                str(DASK),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                address.rsplit(":", 1)[1],
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            env=env,
            cwd=tmp,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    ]
    try:
        procs.append(
            subprocess.Popen(
                [
                    str(DASK),
                    "worker",
                    address,
                    "--nthreads",
                    "1",
                    "--nworkers",
                    "1",
                    "--dashboard-address",
                    ":0",
                    "--local-directory",
                    str(tmp),
                ],
                env=env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        from dask.distributed import Client

        deadline = time.monotonic() + 120
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(1, timeout=max(1.0, deadline - time.monotonic()))
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def _simulate(tmp_path: Path, *extra: str) -> dict[str, object]:
    sc = tmp_path / "s.yaml"
    sc.write_text("p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\n")
    argv = [
        "simulate",
        str(DESIGN),
        "--scenario",
        str(sc),
        "--trials",
        "25000",
        "--seed",
        "7",
        "--json",
        *extra,
    ]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 0, (result.output, result.exception)
    out: dict[str, object] = json.loads(result.stdout)
    return out


def test_remote_scheduler_address_gives_the_local_result(
    scheduler_address: str, tmp_path: Path
) -> None:
    from dask.distributed import Client

    remote = _simulate(tmp_path, "--scheduler", scheduler_address)
    local = _simulate(tmp_path)
    assert remote == local
    with Client(scheduler_address) as client:
        done = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "run_block_summary" in done, done


def test_an_address_nobody_listens_on_is_one_line(tmp_path: Path) -> None:
    sc = tmp_path / "s.yaml"
    sc.write_text("p_tox: [0.05, 0.1, 0.2, 0.3, 0.5]\n")
    argv = [
        "simulate",
        str(DESIGN),
        "--scenario",
        str(sc),
        "--trials",
        "100",
        "--scheduler",
        f"tcp://127.0.0.1:{_free_port()}",
        "--json",
    ]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    error = json.loads(lines[0])["error"]
    assert error["field"] == "scheduler" and "cannot connect" in error["reason"]


def test_scheduler_local_gives_the_local_result(tmp_path: Path) -> None:
    local = _simulate(tmp_path)
    on_cluster = _simulate(tmp_path, "--scheduler", "local", "--workers", "2")
    assert on_cluster == local


def _worker_settings(dask_worker: Any) -> dict[str, object]:
    """Run on each worker by ``client.run`` (which passes the worker as ``dask_worker``)."""
    import dask

    from doseladder.simulate.dask_backend import WORKER_CONFIG
    from doseladder.simulate.malloc import MALLOC_ENV

    return {
        "env": {k: os.environ.get(k) for k in MALLOC_ENV},
        "config": {k: dask.config.get(k) for k in WORKER_CONFIG},
        "threads": dask_worker.state.nthreads,
    }


def test_local_cluster_workers_get_the_malloc_env_and_config() -> None:
    from dask.distributed import Client

    from doseladder.simulate.dask_backend import WORKER_CONFIG, local_cluster
    from doseladder.simulate.malloc import MALLOC_ENV

    with local_cluster(2) as cluster, Client(cluster) as client:
        client.wait_for_workers(2)
        seen = client.run(_worker_settings)
    assert len(seen) == 2
    for settings in seen.values():
        assert settings == {"env": MALLOC_ENV, "config": WORKER_CONFIG, "threads": 1}


def test_one_local_cluster_serves_every_simulation_of_a_process() -> None:
    """``compare`` / several scenarios reuse the cluster instead of starting one per run."""
    from doseladder.core.designs import BOIN
    from doseladder.simulate import Scenario, compare
    from doseladder.simulate import dask_backend as backend

    designs = [BOIN(num_doses=5, target=0.25), BOIN(num_doses=5, target=0.3)]
    scenarios = [Scenario(p_tox=(0.05, 0.1, 0.2, 0.3, 0.5))]
    seen = []
    real = backend.local_cluster

    def counting(workers: int) -> Any:
        seen.append(workers)
        return real(workers)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backend, "local_cluster", counting)
        on_cluster = compare(designs, scenarios, 2000, seed=3, scheduler="local", workers=2)
    assert seen == [2]
    local = compare(designs, scenarios, 2000, seed=3)
    assert on_cluster.per_dose().equals(local.per_dose())
