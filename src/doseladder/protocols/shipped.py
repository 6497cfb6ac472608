"""The shipped protocols: the five seed trials as protocol files.

The YAML files live at the repository's top-level ``protocols/`` directory; the wheel packages
them as ``doseladder/protocols/library/`` (``pyproject.toml``: ``[tool.hatch.build.targets.wheel
.force-include]``).  :func:`library_dir` finds them through :mod:`importlib.resources` when
installed, else in the source tree (``Path(__file__).parents[3] / "protocols"``).

(The module is called ``shipped`` so that its name differs from the packaged data folder
``doseladder/protocols/library/`` and from the repository's ``protocols/``.)
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from doseladder.core.errors import InputError
from doseladder.protocols.loader import load_protocol
from doseladder.protocols.model import Protocol

__all__ = ["library_dir", "list_protocols", "load_shipped", "shipped_path"]

_SUFFIXES = (".yaml", ".yml", ".json")


def library_dir() -> Path:
    """Directory holding the shipped protocol files."""
    try:
        packaged = Path(str(files("doseladder.protocols") / "library"))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - defensive
        packaged = Path()
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "protocols"


def list_protocols() -> list[str]:
    """Names (file stems) of the shipped protocols, sorted."""
    d = library_dir()
    if not d.is_dir():
        return []
    return sorted(p.stem for p in d.iterdir() if p.suffix in _SUFFIXES and p.is_file())


def shipped_path(name: str) -> Path:
    """Path of a shipped protocol by name (with or without its suffix)."""
    d = library_dir()
    stem = name
    for suffix in _SUFFIXES:
        stem = stem.removesuffix(suffix)
    for suffix in _SUFFIXES:
        p = d / f"{stem}{suffix}"
        if p.is_file():
            return p
    known = ", ".join(list_protocols()) or "none"
    raise InputError("protocol", f"no shipped protocol named {name!r}; shipped: {known}")


def load_shipped(name: str) -> Protocol:
    """Load and validate a shipped protocol by name."""
    return load_protocol(shipped_path(name))
