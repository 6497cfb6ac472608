"""Scenario files (YAML/JSON) → :class:`~doseladder.simulate.scenario.Scenario` objects.

A file holds one scenario (a mapping with ``p_tox`` ...) or several under ``scenarios:`` (a
list, or a mapping of name → scenario).  Keys: ``p_tox`` (list), ``p_eff`` (list; phase I/II
designs, and BF-BOIN's activity condition), ``tox_eff_odds_ratio``, ``accrual`` (``{type:
poisson|uniform|fixed, rate}``, patients per unit of the design's ``tox_window``),
``tox_time`` and ``eff_time`` (``{model: uniform|weibull, alpha1, alpha2}``), ``name``.

Protocol-scenario files (:mod:`doseladder.simulate.protocol.scenario`) likewise hold one
scenario (a mapping with ``indications``) or several under ``scenarios:``
(:func:`load_protocol_scenarios`; :func:`load_protocol_scenario` for a file holding exactly one).

The import direction is one-way: ``io`` builds ``simulate``'s scenario objects, and
``simulate`` never imports ``io``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from doseladder.core.errors import InputError
from doseladder.io.design_file import load_mapping
from doseladder.simulate.protocol.scenario import ProtocolScenario
from doseladder.simulate.scenario import Scenario

__all__ = [
    "load_protocol_scenario",
    "load_protocol_scenarios",
    "load_scenarios",
    "protocol_scenarios_from_data",
    "scenarios_from_data",
]


def scenarios_from_data(data: dict[str, Any]) -> list[Scenario]:
    if "scenarios" not in data:
        return [Scenario.from_dict(data)]
    if set(data) != {"scenarios"}:
        extra = sorted(set(data) - {"scenarios"})
        raise InputError(extra[0], "not allowed beside 'scenarios'")
    items = data["scenarios"]
    if isinstance(items, dict):
        items = [{"name": str(k), **v} if isinstance(v, dict) else v for k, v in items.items()]
    if not isinstance(items, list) or not items:
        raise InputError("scenarios", "must be a non-empty list or mapping of scenarios")
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"scenarios[{i}]", "must be a mapping")
        try:
            sc = Scenario.from_dict(item)
        except InputError as exc:
            raise InputError(f"scenarios[{i}].{exc.field}", exc.reason) from None
        out.append(sc if sc.name else sc.renamed(f"S{i + 1}"))
    return out


def load_scenarios(path: str | Path) -> list[Scenario]:
    data = load_mapping(path, "scenario file")
    try:
        return scenarios_from_data(data)
    except InputError as exc:
        raise InputError(f"{Path(path).name}: {exc.field}", exc.reason) from None


def protocol_scenarios_from_data(data: dict[str, Any]) -> list[ProtocolScenario]:
    """One protocol scenario (a mapping with ``indications``) or several under ``scenarios:``
    (a list, or a mapping name → scenario); unnamed ones are called S1, S2, ..."""
    if "scenarios" not in data:
        return [ProtocolScenario.from_dict(data)]
    if set(data) != {"scenarios"}:
        extra = sorted(set(data) - {"scenarios"})
        raise InputError(extra[0], "not allowed beside 'scenarios'")
    items = data["scenarios"]
    if isinstance(items, dict):
        items = [{"name": str(k), **v} if isinstance(v, dict) else v for k, v in items.items()]
    if not isinstance(items, list) or not items:
        raise InputError("scenarios", "must be a non-empty list or mapping of scenarios")
    out: list[ProtocolScenario] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise InputError(f"scenarios[{i}]", "must be a mapping")
        try:
            sc = ProtocolScenario.from_dict(item)
        except InputError as exc:
            raise InputError(f"scenarios[{i}].{exc.field}", exc.reason) from None
        out.append(sc if sc.name else replace(sc, name=f"S{i + 1}"))
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError("scenarios", f"repeated scenario name(s) {dup}")
    return out


def load_protocol_scenarios(path: str | Path) -> list[ProtocolScenario]:
    """Read a protocol-scenario file holding one scenario or a list (errors name the file)."""
    data = load_mapping(path, "protocol scenario file")
    try:
        out = protocol_scenarios_from_data(data)
    except InputError as exc:
        raise InputError(f"{Path(path).name}: {exc.field}", exc.reason) from None
    if len(out) == 1 and not out[0].name:
        out = [replace(out[0], name=Path(path).stem)]
    return out


def load_protocol_scenario(path: str | Path) -> ProtocolScenario:
    """Read and validate a protocol-scenario file holding one scenario (a mapping with
    ``indications``); errors are prefixed with the file name, and an unnamed scenario is
    named after the file."""
    data = load_mapping(path, "protocol scenario file")
    try:
        sc = ProtocolScenario.from_dict(data)
    except InputError as exc:
        raise InputError(f"{Path(path).name}: {exc.field}", exc.reason) from None
    return sc if sc.name else replace(sc, name=Path(path).stem)
