"""Replaying a recorded decision from the database: recompute and compare.

:func:`replay_decision` recomputes a stored decision from its stored inputs with today's
engine, checks the inputs' hash, and rebuilds the inputs from the database as it stood when the
decision was recorded.  The same comparison from a certified copy alone (no database) is
:mod:`doseladder.conduct.replay`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from doseladder import __version__
from doseladder.conduct import audit
from doseladder.conduct.models import ProtocolVersion, Trial
from doseladder.conduct.security import Actor
from doseladder.conduct.services import _common as c
from doseladder.conduct.services.decision_queries import get_decision
from doseladder.conduct.services.decision_state import (
    build_state,
    plain,
    sha256_text,
    state_from_inputs,
)
from doseladder.conduct.services.protocol_engine import Engine
from doseladder.conduct.services.recommendation import (
    IndicationView,
    apply_stops,
    eliminated_carried,
    inputs_of,
    recorded_stops,
    run_plan,
    views_of,
)
from doseladder.conduct.services.trials import engine_for

__all__ = ["ReplayResult", "diff", "recompute", "replay_decision"]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Outcome of :func:`replay_decision`.

    Attributes:
        decision_id: the decision replayed.
        matches: the result recomputed from the stored inputs equals the stored result.
        inputs_intact: the stored inputs still hash to ``inputs_sha256``.
        data_matches: the inputs rebuilt from the database as it stood when the decision was
            recorded equal the stored inputs (a later correction of that data shows here).
        stored / recomputed: the stored and recomputed results for the decision's indication.
        differences: plain-English differences (empty when everything matches).
        engine_version: doseladder version that recorded the decision; ``current_version`` the
            one that replayed it.
    """

    decision_id: int
    matches: bool
    inputs_intact: bool
    data_matches: bool
    stored: dict[str, Any]
    recomputed: dict[str, Any]
    differences: tuple[str, ...]
    engine_version: str
    current_version: str

    @property
    def ok(self) -> bool:
        return self.matches and self.inputs_intact and self.data_matches

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision_id": self.decision_id,
            "ok": self.ok,
            "matches": self.matches,
            "inputs_intact": self.inputs_intact,
            "data_matches": self.data_matches,
            "stored": self.stored,
            "recomputed": self.recomputed,
            "differences": list(self.differences),
            "engine_version": self.engine_version,
            "current_version": self.current_version,
        }


def diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if len(out) >= 50:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(f"{path}: stored {a!r}, now {b!r}")


def recompute(
    engine: Engine,
    require_signoff_for_escalation: bool,
    inputs: Mapping[str, Any],
    indication: str | None,
) -> dict[str, Any]:
    """The result that a decision with these stored inputs gets from the engine now:
    ``{"indication": view, "plan": plan}``, the shape of a recorded ``result``."""
    state = state_from_inputs(inputs)
    rec = run_plan(engine, state, float(inputs["now"]))
    stops: Sequence[Mapping[str, Any]] = inputs.get("recorded_stops") or ()
    views = apply_stops(views_of(engine, require_signoff_for_escalation, state, rec), stops)
    view: IndicationView = next(
        (v for v in views if v.indication == indication and indication),
        views[0],
    )
    return {"indication": view.to_dict(), "plan": plain(rec.to_dict())}


def replay_decision(session: Session, actor: Actor, decision_id: int) -> ReplayResult:
    """Recompute a recorded decision and compare (see :class:`ReplayResult`)."""
    decision = get_decision(session, actor, decision_id)
    trial = c.get(session, Trial, decision.trial_id)
    pv = c.get(session, ProtocolVersion, decision.protocol_version_id, "protocol version")
    stored_inputs = json.loads(decision.inputs)
    stored_result = json.loads(decision.result)
    differences: list[str] = []
    inputs_intact = sha256_text(decision.inputs) == decision.inputs_sha256
    if not inputs_intact:
        differences.append("stored inputs do not match their recorded SHA-256")
    if stored_inputs.get("protocol_sha256") != pv.content_sha256:
        differences.append("the protocol version's content changed since the decision")
    engine = engine_for(pv)
    recomputed = recompute(
        engine, trial.require_signoff_for_escalation, stored_inputs, decision.indication
    )
    result_diffs: list[str] = []
    diff(stored_result, recomputed, "", result_diffs)
    differences.extend(f"result {d}" for d in result_diffs)
    # rebuild the inputs from the database as it stood at recording time
    carried = eliminated_carried(session, trial.id, engine, before_seq=decision.seq)
    built = build_state(
        session,
        trial,
        engine,
        now=decision.decision_time,
        eliminated=carried,
        as_of=decision.recorded_at,
    )
    stops = recorded_stops(session, trial.id, engine, before_seq=decision.seq)
    rebuilt = {**inputs_of(trial, pv, built, stops), "indication": decision.indication}
    data_diffs: list[str] = []
    diff(stored_inputs, json.loads(audit.canonical_json(rebuilt)), "", data_diffs)
    differences.extend(f"inputs {d}" for d in data_diffs)
    return ReplayResult(
        decision_id=decision.id,
        matches=not result_diffs,
        inputs_intact=inputs_intact,
        data_matches=not data_diffs,
        stored=stored_result,
        recomputed=recomputed,
        differences=tuple(differences),
        engine_version=decision.engine_version,
        current_version=__version__,
    )
