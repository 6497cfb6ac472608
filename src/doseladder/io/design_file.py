"""Design files (YAML or JSON) → validated design objects.

A design file is a mapping with a ``design`` key naming the design (any name of the registry
:data:`~doseladder.core.designs.registry.DESIGNS`: ``boin``, ``tite-boin``, ``boin12``,
``tite-boin12``, ``3+3``, ``crm``, ``tite-crm``, ``keyboard``, ``mtpi2``, ``i3+3``,
``bf-boin``, ``be-boin``) and the design's parameters under their own names
(``num_doses``, ``target``, ``phi_t``, ``cohort_size``, ``max_n``, ...).  Unknown keys are
rejected with the list of allowed ones; values are validated by the design itself, whose error
names the key and the allowed range.

``utilities`` may be given as a list ``[u1, u2, u3, u4]`` or as a mapping ``{u1: .., u2: ..}``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from doseladder.core.designs import Design
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


def design_from_dict(data: dict[str, Any]) -> Design:
    """Build and validate a design from a mapping (as read from a design file):
    :meth:`Design.from_dict <doseladder.core.designs.base.Design.from_dict>`, which looks the
    ``design`` key up in the registry (:mod:`doseladder.core.designs.registry`)."""
    return Design.from_dict(data)


def load_design(path: str | Path) -> Design:
    """Read and validate a design file."""
    data = load_mapping(path, "design file")
    try:
        return design_from_dict(data)
    except InputError as exc:
        raise InputError(f"{Path(path).name}: {exc.field}", exc.reason) from None
