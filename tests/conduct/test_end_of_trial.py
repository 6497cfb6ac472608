"""End of trial: pending outcomes, the final selection signed by two people, and the replay of
every decision from the certified copy alone."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doseladder.cli.main import app
from doseladder.conduct import audit
from doseladder.conduct.errors import Conflict, Forbidden
from doseladder.conduct.replay import replay_copy
from doseladder.conduct.services import final_selection as fs
from doseladder.core.designs import BOIN as BOINDesign
from doseladder.core.state import Patient, TrialState

from .conftest import BOIN, PASSWORD, TITE_BOIN, World


def sign(world: World, sid: int, who: object) -> dict[str, object]:
    return world.run(
        lambda s: fs.sign_final_selection(
            s,
            who,
            sid,
            password=PASSWORD,
            printed_name=f"Dr {who.username}",  # type: ignore[attr-defined]
        )
    )


def run_to_the_stop(world: World) -> int:
    """BOIN, cohorts of 3, no DLT: DL1 -> DL4, then the sample size (12) stops it."""
    tid = world.trial(BOIN)
    for dose in (1, 2, 3, 4):
        world.cohort(tid, dose)
        world.clock.advance(29)
    stop = world.decide(tid)
    assert stop.status == "closed", stop.message
    return tid


def test_a_stopped_trial_is_selected_signed_and_replayed_from_the_copy(
    world: World, tmp_path: Path
) -> None:
    tid = world.trial(BOIN)
    # before the stop: no final selection
    with pytest.raises(Conflict, match="has not stopped"):
        world.run(lambda s: fs.compute_final_selection(s, world.stat, tid))
    tid = run_to_the_stop(world)
    view = world.run(lambda s: fs.end_of_trial(s, world.monitor, tid))
    assert view["stop"] is not None and view["pending"] == [] and view["why_not"] is None
    # the selection is the design's own rule on the data (independently: the core's BOIN on
    # 0/3 at every dose, counted by hand)
    expected = BOINDesign(num_doses=4, target=0.3, cohort_size=3, max_n=12).select(
        TrialState(
            4,
            tuple(
                Patient(dose=d, entry_time=0.0, tox=False) for d in (1, 2, 3, 4) for _ in range(3)
            ),
        )
    )
    assert view["preview"]["dose"] == expected.dose == 4
    row = world.run(lambda s: fs.compute_final_selection(s, world.stat, tid))
    assert (row.kind, row.dose_level, row.dose_label) == ("mtd", 4, "DL4")
    result = json.loads(row.result)
    assert all("tox_upper" in e for e in result["estimates"])  # credible intervals
    # four eyes: the statistician who computed it cannot sign it; two others must
    before = world.snapshot_counts()
    with pytest.raises(Forbidden, match="second person"):
        sign(world, row.id, world.stat)
    assert world.snapshot_counts() == before
    first = sign(world, row.id, world.com1)
    assert first["signed"] is False
    second = sign(world, row.id, world.admin)
    assert second["signed"] is True and len(second["signatures"]) == 2  # type: ignore[arg-type]
    with pytest.raises(Conflict, match="already signed"):
        sign(world, row.id, world.com2)
    # the certified copy alone replays every decision and the selection
    with world.db.session() as s:
        data = audit.certified_copy(s)
    data["manifest"] = {"extra": "keys from other tools are ignored"}
    out = replay_copy(data)
    assert out.ok and len(out.lines) == 6  # 5 decisions + the selection
    assert all(line.text().startswith("match") for line in out.lines)
    path = tmp_path / "copy.json"
    path.write_text(json.dumps(data))
    cli = CliRunner().invoke(app, ["audit", "replay", str(path)])
    assert cli.exit_code == 0, cli.output
    assert "every one matches" in cli.output and cli.output.count("match ") >= 6
    # a tampered decision result in the copy is a mismatch, with the reason
    bad = copy.deepcopy(data)
    for ev in bad["events"]:
        body = json.loads(ev["payload"])
        if ev["entity_type"] == "dose_decisions" and body["action"] == "create":
            res = json.loads(body["new"]["result"])
            res["indication"]["next_dose"] = 3
            body["new"]["result"] = json.dumps(res)
            ev["payload"] = json.dumps(body)
            break
    out = replay_copy(bad)
    assert not out.ok and "next_dose" in " ".join(out.lines[0].differences)
    path.write_text(json.dumps(bad))
    cli = CliRunner().invoke(app, ["audit", "replay", str(path)])
    assert cli.exit_code == 1 and "MISMATCH" in cli.output


def test_pending_outcomes_are_listed_and_block_the_selection(world: World) -> None:
    tid = world.trial(TITE_BOIN)
    for dose in (1, 2, 3):
        world.cohort(tid, dose)
        world.clock.advance(29)
    world.cohort(tid, 4)
    world.clock.advance(1)
    assert world.decide(tid).status == "closed"
    view = world.run(lambda s: fs.end_of_trial(s, world.stat, tid))
    assert len(view["pending"]) == 3 and view["preview"] is None
    assert {p["toxicity"] for p in view["pending"]} == {"in_window"}
    assert "pending" in view["why_not"]
    before = world.snapshot_counts()
    with pytest.raises(Exception, match="pending"):
        world.run(lambda s: fs.compute_final_selection(s, world.stat, tid))
    assert world.snapshot_counts() == before
