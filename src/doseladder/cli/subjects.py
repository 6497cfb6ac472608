"""What a report or a table is about: a design file, a protocol file, or a shipped protocol."""

from __future__ import annotations

from pathlib import Path

from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError
from doseladder.io.design_file import load_design, load_mapping
from doseladder.protocols.model import Protocol
from doseladder.simulate.scenario import Scenario

__all__ = ["design_scenarios", "load_subject", "subject_design"]


def load_subject(arg: str | Path) -> Design | Protocol:
    """A design file, a protocol file (a ``design:`` mapping or a ``schema_version``), or
    the name of a shipped protocol."""
    from doseladder.cli.protocol_commands import resolve_protocol

    path = Path(arg)
    if path.is_file():
        data = load_mapping(path, "design or protocol file")
        if isinstance(data.get("design"), dict) or "schema_version" in data:
            return resolve_protocol(str(path))
        return load_design(path)
    try:
        return resolve_protocol(str(arg))
    except InputError:
        raise InputError(
            str(arg), "not a design or protocol file, nor a shipped protocol name"
        ) from None


def subject_design(subject: Design | Protocol) -> Design:
    return subject.plan.design if isinstance(subject, Protocol) else subject


def design_scenarios(
    path: Path | None, random_n: int | None, seed: int, design: Design
) -> list[Scenario]:
    """The scenarios of a design run: those of the file (if any) then ``random_n`` random
    ones (:func:`doseladder.simulate.scenario_gen.random_scenarios_for`, seeded by ``seed``;
    accrual and event-time models from the file's first scenario)."""
    from doseladder.io.scenario_file import load_scenarios
    from doseladder.simulate.scenario_gen import random_scenarios_for

    out: list[Scenario] = load_scenarios(path) if path is not None else []
    if random_n:
        out += random_scenarios_for(design, random_n, seed, out[0] if out else None)
    if not out:
        raise InputError("--scenario", "required (or give --random-scenarios N)")
    names = [s.name for s in out]
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        raise InputError("--scenario", f"repeated scenario name(s) {dup}")
    return out
