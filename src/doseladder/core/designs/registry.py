"""The design registry: design name (the ``design`` key of design and protocol files) → class.

One table, :data:`DESIGNS` (name → class, each imported on first use); every entry point
that turns a name into a design asks it (:func:`design_class`, :func:`design_from_mapping`, and
through them :meth:`Design.from_dict <doseladder.core.designs.base.Design.from_dict>`, the
design-file loader :func:`doseladder.io.design_file.design_from_dict` and the protocol loader),
so adding a design is adding its module and class here.  An unknown name is an
:class:`~doseladder.core.errors.InputError` on ``design`` that lists the known designs.

:func:`design_from_mapping` is the pure part of reading a design file: the ``design`` key picks
the class, every other key must be one of the class's parameters (the error lists the allowed
ones), lists become tuples, ``utilities`` may be a list or a mapping ``{u1, u2, u3, u4}``, and the
values are validated by the class itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import fields
from typing import Any, cast

from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError

__all__ = ["DESIGNS", "design_class", "design_from_mapping", "design_parameters", "known_designs"]

#: design-file name -> (module under ``doseladder.core.designs``, class name); a module is
#: imported when its design is first asked for, so reading one design file (``doseladder
#: decide``) does not import every design's dependencies (CLI start-up, issue #12 item 5)
_WHERE: dict[str, tuple[str, str]] = {
    "boin": ("boin", "BOIN"),
    "tite-boin": ("tite_boin", "TITEBOIN"),
    "boin12": ("boin12", "BOIN12"),
    "tite-boin12": ("tite_boin12", "TITEBOIN12"),
    "3+3": ("three_plus_three", "ThreePlusThree"),
    "crm": ("crm", "CRM"),
    "tite-crm": ("tite_crm", "TITECRM"),
    "keyboard": ("keyboard", "Keyboard"),
    "mtpi2": ("mtpi2", "MTPI2"),
    "i3+3": ("i3p3", "I3P3"),
    "bf-boin": ("bf_boin", "BFBOIN"),
    "be-boin": ("be_boin", "BEBOIN"),
}


class _Registry(Mapping[str, type[Design]]):
    """The read-only name -> class table; a class is imported on first access (and its own
    ``name`` must be the key: tests/core/designs/test_registry.py)."""

    def __getitem__(self, name: str) -> type[Design]:
        module, cls = _WHERE[name]
        found = getattr(importlib.import_module(f"doseladder.core.designs.{module}"), cls)
        return cast("type[Design]", found)

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


#: design-file name -> class
DESIGNS: Mapping[str, type[Design]] = _Registry()


def known_designs() -> str:
    """The registered design names, sorted and comma-separated (for error messages)."""
    return ", ".join(sorted(DESIGNS))


def design_class(name: object) -> type[Design]:
    """The class registered under ``name`` (case-insensitive).

    Raises:
        InputError: on ``design``, naming the known designs, for a missing or unknown name.
    """
    cls = DESIGNS.get(name.strip().lower()) if isinstance(name, str) else None
    if cls is None:
        raise InputError("design", f"unknown design {name!r}; one of {known_designs()}")
    return cls


def design_parameters(cls: type[Design]) -> frozenset[str]:
    """The parameters a design file may give for ``cls`` (its init fields)."""
    return frozenset(f.name for f in fields(cast(Any, cls)) if f.init)


def _utilities(value: Any) -> tuple[float, ...]:
    """``[u1, u2, u3, u4]`` or ``{u1:, u2:, u3:, u4:}`` (u1 defaults to 100, u4 to 0)."""
    if isinstance(value, dict):
        unknown = set(value) - {"u1", "u2", "u3", "u4"}
        if unknown:
            raise InputError("utilities", f"unknown keys {sorted(unknown)}; allowed u1, u2, u3, u4")
        missing = [k for k in ("u2", "u3") if k not in value]
        if missing:
            raise InputError("utilities", f"{' and '.join(missing)} must be given")
        return (value.get("u1", 100.0), value["u2"], value["u3"], value.get("u4", 0.0))
    if isinstance(value, list | tuple):
        if len(value) != 4:
            raise InputError("utilities", f"must have 4 values u1..u4, got {len(value)}")
        return tuple(value)
    raise InputError("utilities", "must be a list [u1, u2, u3, u4] or a mapping {u1: .., u4: ..}")


def design_from_mapping(data: Mapping[str, Any]) -> Design:
    """Build and validate a design from a mapping with a ``design`` key (module docstring).

    Raises:
        InputError: naming the key and the reason (missing or unknown design, unknown key,
            missing required parameter, or a value the design refuses).
    """
    if not isinstance(data, Mapping):
        raise InputError("design", "must be a mapping of parameters with a 'design' key")
    if "design" not in data:
        raise InputError("design", f"missing; one of {known_designs()}")
    cls = design_class(data["design"])
    allowed = design_parameters(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "design":
            continue
        if key not in allowed:
            raise InputError(
                key, f"unknown key for design {cls.name!r}; allowed: {', '.join(sorted(allowed))}"
            )
        if key == "utilities":
            value = _utilities(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        # a required parameter is missing
        missing = str(exc).split("argument")[-1].strip(": '")
        raise InputError(missing or "design", f"required for design {cls.name!r}") from None
