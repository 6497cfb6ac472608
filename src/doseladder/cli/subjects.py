"""What a report or a table is about: a design file, a protocol file, or a shipped protocol."""

from __future__ import annotations

from pathlib import Path

from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError
from doseladder.io.design_file import load_design, load_mapping
from doseladder.protocols.model import Protocol

__all__ = ["load_subject", "subject_design"]


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
