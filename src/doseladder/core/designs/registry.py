"""The design registry: design name (the ``design`` key of design and protocol files) → class.

One table, :data:`DESIGNS`, built from the classes' own ``name``; every entry point that turns a
name into a design asks it (:func:`design_class`, :func:`design_from_mapping`, and through them
:meth:`Design.from_dict <doseladder.core.designs.base.Design.from_dict>`, the design-file loader
:func:`doseladder.io.design_file.design_from_dict` and the protocol loader), so adding a design
is adding its class here.  An unknown name is an :class:`~doseladder.core.errors.InputError`
on ``design`` that lists the known designs.

:func:`design_from_mapping` is the pure part of reading a design file: the ``design`` key picks
the class, every other key must be one of the class's parameters (the error lists the allowed
ones), lists become tuples, ``utilities`` may be a list or a mapping ``{u1, u2, u3, u4}``, and the
values are validated by the class itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any, cast

from doseladder.core.designs.base import Design
from doseladder.core.designs.be_boin import BEBOIN
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.designs.boin import BOIN
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.designs.crm import CRM
from doseladder.core.designs.i3p3 import I3P3
from doseladder.core.designs.keyboard import Keyboard
from doseladder.core.designs.mtpi2 import MTPI2
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.core.designs.tite_boin import TITEBOIN
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.designs.tite_crm import TITECRM
from doseladder.core.errors import InputError

__all__ = ["DESIGNS", "design_class", "design_from_mapping", "design_parameters", "known_designs"]

#: design-file name -> class
DESIGNS: dict[str, type[Design]] = {
    cls.name: cls
    for cls in (
        BOIN,
        TITEBOIN,
        BOIN12,
        TITEBOIN12,
        ThreePlusThree,
        CRM,
        TITECRM,
        Keyboard,
        MTPI2,
        I3P3,
        BFBOIN,
        BEBOIN,
    )
}


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
