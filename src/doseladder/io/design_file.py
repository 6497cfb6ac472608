"""Design files (YAML or JSON) → validated design objects.

A design file is a mapping with a ``design`` key naming the design (``boin``, ``tite-boin``,
``boin12``, ``tite-boin12``, ``3+3``) and the design's parameters under their own names
(``num_doses``, ``target``, ``phi_t``, ``cohort_size``, ``max_n``, ...).  Unknown keys are
rejected with the list of allowed ones; values are validated by the design itself, whose error
names the key and the allowed range.

``utilities`` may be given as a list ``[u1, u2, u3, u4]`` or as a mapping ``{u1: .., u2: ..}``.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any, cast

import yaml

from doseladder.core.designs import DESIGNS, Design
from doseladder.core.errors import InputError

__all__ = ["design_from_dict", "load_design", "load_mapping"]


def load_mapping(path: str | Path, what: str = "file") -> dict[str, Any]:
    """Read a YAML or JSON file holding a mapping; errors name the file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(p), f"{what} not found") from None
    except OSError as exc:
        raise InputError(str(p), f"cannot read {what}: {exc.strerror}") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            str(p), f"not valid {'JSON' if p.suffix == '.json' else 'YAML'}: {first}"
        ) from None
    if not isinstance(data, dict):
        raise InputError(str(p), f"the {what} must contain a mapping of keys to values")
    return data


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


def design_from_dict(data: dict[str, Any]) -> Design:
    """Build and validate a design from a mapping (as read from a design file)."""
    if "design" not in data:
        raise InputError("design", f"missing; one of {', '.join(sorted(DESIGNS))}")
    name = data["design"]
    cls = DESIGNS.get(str(name).lower()) if isinstance(name, str) else None
    if cls is None:
        raise InputError("design", f"unknown design {name!r}; one of {', '.join(sorted(DESIGNS))}")
    allowed = {f.name for f in fields(cast(Any, cls)) if f.init}
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


def load_design(path: str | Path) -> Design:
    """Read and validate a design file."""
    data = load_mapping(path, "design file")
    try:
        return design_from_dict(data)
    except InputError as exc:
        raise InputError(f"{Path(path).name}: {exc.field}", exc.reason) from None
