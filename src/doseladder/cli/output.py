"""Shared CLI plumbing: JSON output, error reporting."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import typer

from doseladder.core.errors import InputError

P = ParamSpec("P")
R = TypeVar("R")


def _default(obj: Any) -> Any:
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
    if obj is pd.NA or obj is pd.NaT:
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
    if obj is pd.NA:
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


def handle_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn expected errors into a one-line message and exit code 2 (never a traceback)."""

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except InputError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None

    return wrapper
