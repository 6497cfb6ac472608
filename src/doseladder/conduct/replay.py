"""Replay every recorded decision from a certified copy of the audit trail alone.

An inspector holds a certified copy (``doseladder audit export``), not the database.  Every
row the service ever inserted is in the copy's events with all its columns (``action``
``create``, ``new``), so the copy alone carries each decision's stored inputs, result and hash,
and the protocol version it was taken under.  :func:`replay_copy` recomputes each decision
from its stored inputs with this version of doseladder (through the same public function the
service uses, :func:`doseladder.conduct.services.decisions.recompute`) and compares; it also
checks each input's SHA-256 and the protocol's, and recomputes each recorded final selection
(:func:`doseladder.conduct.services.final_selection.recompute_selection`) when there is one.

Extra top-level keys of the copy (a manifest, a signature) are ignored here; checking the
copy's own integrity is ``doseladder audit verify --copy``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from doseladder.conduct.errors import ConductError
from doseladder.conduct.services.decision_replay import diff, recompute
from doseladder.conduct.services.final_selection import recompute_selection
from doseladder.conduct.services.protocol_engine import parse_protocol
from doseladder.core.errors import InputError

__all__ = ["CopyReplay", "ReplayLine", "replay_copy", "rows_from_copy"]


@dataclass(frozen=True, slots=True)
class ReplayLine:
    """One recomputed record: ``what`` (e.g. ``decision #4 (trial 1, seq 2)``), ``ok`` and why
    not (``differences``)."""

    what: str
    ok: bool
    summary: str
    differences: tuple[str, ...] = ()

    def text(self) -> str:
        head = f"{'match   ' if self.ok else 'MISMATCH'} {self.what}: {self.summary}"
        if self.differences:
            head += " -- " + "; ".join(self.differences[:5])
        return head

    def to_dict(self) -> dict[str, Any]:
        return {
            "what": self.what,
            "ok": self.ok,
            "summary": self.summary,
            "differences": list(self.differences),
        }


@dataclass(frozen=True, slots=True)
class CopyReplay:
    """Every line of a replay; ``ok`` when every decision (and selection) matches."""

    lines: tuple[ReplayLine, ...]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "replayed": len(self.lines),
            "mismatches": sum(not line.ok for line in self.lines),
            "lines": [line.to_dict() for line in self.lines],
        }


def rows_from_copy(data: Mapping[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """The rows of every table as the copy's events leave them: ``{table: {id: row}}``."""
    events = data.get("events")
    if not isinstance(events, list):
        raise InputError("copy", "not a certified copy: no events")
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for raw in events:
        if not isinstance(raw, Mapping):
            raise InputError("copy", "not a certified copy: an event is not an object")
        ev: Mapping[str, Any] = raw
        if isinstance(raw.get("payload"), str):  # the hashed payload holds the row values
            try:
                body = json.loads(raw["payload"])
            except ValueError:
                raise InputError("copy", f"event #{raw.get('seq')}: payload is not JSON") from None
            if isinstance(body, Mapping):
                ev = {**raw, **body}
        new = ev.get("new")
        table, ident = ev.get("entity_type"), ev.get("entity_id")
        if not isinstance(new, Mapping) or not isinstance(table, str) or ident is None:
            continue
        if ev.get("action") == "create":
            tables.setdefault(table, {})[str(ident)] = dict(new)
        elif ev.get("action") == "update":
            tables.setdefault(table, {}).setdefault(str(ident), {}).update(new)
    return tables


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _replay_decision(row: Mapping[str, Any], versions: Mapping[str, Any]) -> ReplayLine:
    what = f"decision #{row.get('id')} (trial {row.get('trial_id')}, seq {row.get('seq')}" + (
        f", {row['indication']})" if row.get("indication") else ")"
    )
    stored_result = row.get("result")
    inputs_text = row.get("inputs")
    if not isinstance(inputs_text, str) or not isinstance(stored_result, str):
        return ReplayLine(what, False, "inputs or result missing from the copy")
    problems: list[str] = []
    if _sha(inputs_text) != row.get("inputs_sha256"):
        problems.append("stored inputs do not match their recorded SHA-256")
    inputs = json.loads(inputs_text)
    pv = versions.get(str(row.get("protocol_version_id")))
    if pv is None:
        return ReplayLine(what, False, "its protocol version is not in the copy")
    if _sha(str(pv.get("content"))) != pv.get("content_sha256") or inputs.get(
        "protocol_sha256"
    ) != pv.get("content_sha256"):
        problems.append("the protocol version's content does not match its SHA-256")
    try:
        engine = parse_protocol(json.loads(pv["content"]))
        recomputed = recompute(
            engine,
            bool(inputs.get("require_signoff_for_escalation")),
            inputs,
            row.get("indication"),
        )
    except (ConductError, InputError, ValueError, KeyError) as exc:
        return ReplayLine(what, False, f"cannot recompute: {exc}")
    found: list[str] = []
    diff(json.loads(stored_result), json.loads(json.dumps(recomputed)), "", found)
    problems.extend(f"result {d}" for d in found)
    view = recomputed["indication"]
    stored = f"{row.get('status')} at {row.get('dose_label') or '-'} ({row.get('rule')})"
    if row.get("source") == "override":
        summary = (
            f"override to {row.get('dose_label')}; the design's recommendation "
            f"{view['status']} at {view.get('dose_label') or '-'} ({view['rule']}) recomputed"
        )
    else:
        summary = f"{stored}; recomputed {view['status']} at {view.get('dose_label') or '-'}"
    return ReplayLine(what, not problems, summary, tuple(problems))


def replay_copy(data: Mapping[str, Any]) -> CopyReplay:
    """Recompute every decision (and final selection) in a certified copy (module docstring)."""
    if not isinstance(data, Mapping):
        raise InputError("copy", "not a certified copy")
    tables = rows_from_copy(data)
    versions = tables.get("protocol_versions", {})
    rows = sorted(
        tables.get("dose_decisions", {}).values(),
        key=lambda r: (int(r.get("trial_id") or 0), int(r.get("seq") or 0)),
    )
    lines = [_replay_decision(r, versions) for r in rows]
    for sel in sorted(tables.get("final_selections", {}).values(), key=lambda r: int(r["id"])):
        what, ok, summary, problems = recompute_selection(sel, versions)
        lines.append(ReplayLine(what, ok, summary, problems))
    return CopyReplay(tuple(lines))
