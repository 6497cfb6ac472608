"""Shared CLI plumbing: JSON output, error reporting, optional extras.

Imports nothing heavy (NumPy and pandas are looked up only when a value of theirs is being
written), so that every command module can use it without slowing ``doseladder --help``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import typer

from doseladder.core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "REPORT_FORMAT_MODULES",
    "emit_json",
    "frame_records",
    "handle_errors",
    "require_extra",
    "require_report_extra",
]

#: modules of the ``report`` extra each output format needs (figures need matplotlib always)
REPORT_FORMAT_MODULES: dict[str, tuple[str, ...]] = {
    "html": ("jinja2",),
    "pdf": ("jinja2", "typst"),
    "docx": ("docx",),
}

P = ParamSpec("P")
R = TypeVar("R")


def _is_pandas_missing(obj: Any) -> bool:
    pd = sys.modules.get("pandas")  # a pandas NA can only exist once pandas is imported
    return pd is not None and (obj is pd.NA or obj is pd.NaT)


def _default(obj: Any) -> Any:
    np = sys.modules.get("numpy")
    if np is not None:
        if isinstance(obj, np.integer):
            return int(obj)
        if isinstance(obj, np.floating):
            return None if not math.isfinite(float(obj)) else float(obj)
        if isinstance(obj, np.bool_):
            return bool(obj)
        if isinstance(obj, np.ndarray):
            return obj.tolist()
    if isinstance(obj, set | frozenset):
        return sorted(obj)
    if _is_pandas_missing(obj):
        return None
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def _clean(obj: Any) -> Any:
    """Replace NaN/NA by None recursively so the JSON is standard."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if _is_pandas_missing(obj):
        return None
    return obj


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """DataFrame → list of plain dicts (NA → None)."""
    records: list[dict[str, Any]] = _clean(
        frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    )
    return records


def emit_json(payload: Any) -> None:
    typer.echo(json.dumps(_clean(payload), default=_default, indent=2))


def require_extra(extra: str, *modules: str, field: str) -> None:
    """Raise :class:`InputError` naming the extra to install when a module it provides is
    missing (``field``: the command or option that needs it)."""
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise InputError(
            field,
            f"needs the '{extra}' extra ({', '.join(missing)} not installed): "
            f"pip install 'doseladder[{extra}]'",
        )


def require_report_extra(formats: list[str], *, field: str) -> None:
    """:func:`require_extra` for the ``report`` extra's modules that ``formats`` need."""
    mods = ["matplotlib"]
    for f in formats:
        mods += [m for m in REPORT_FORMAT_MODULES.get(f, ()) if m not in mods]
    require_extra("report", *mods, field=field)


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn expected errors into a one-line message and exit code 2 (never a traceback).

    The message is ``error: <field>: <reason>`` on stderr, or -- when the command was given
    ``--json`` -- one line of JSON ``{"error": {"field": ..., "reason": ...}}`` on stderr.
    """

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            if kwargs.get("json_"):
                payload = {"error": {"field": exc.field, "reason": exc.reason}}
                typer.echo(json.dumps(payload), err=True)
            else:
                typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper
