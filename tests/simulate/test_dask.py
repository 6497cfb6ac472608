"""A real Dask LocalCluster with 2 workers gives exactly the local result."""

from __future__ import annotations

import numpy as np
import pytest

from doseladder.core.designs import BOIN
from doseladder.simulate import engine
from doseladder.simulate.engine import simulate
from doseladder.simulate.scenario import Scenario

pytest.importorskip("dask.distributed")


def test_local_cluster_two_workers_equals_local_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from dask.distributed import Client, LocalCluster

    monkeypatch.setattr(engine, "BLOCK_SIZE", 1000)
    design = BOIN(num_doses=5, target=0.25)
    sc = Scenario(p_tox=(0.05, 0.12, 0.25, 0.4, 0.55))
    local = simulate(design, sc, 4500, seed=99, keep_trials=True)
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        remote = simulate(
            design, sc, 4500, seed=99, scheduler=cluster.scheduler_address, keep_trials=True
        )
    np.testing.assert_array_equal(local.trials.dose_seq, remote.trials.dose_seq)  # type: ignore[union-attr]
    np.testing.assert_array_equal(local.trials.selected, remote.trials.selected)  # type: ignore[union-attr]
    assert local.per_dose.equals(remote.per_dose)
