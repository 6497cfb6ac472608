"""Patient tables (CSV) for time-to-event decisions.

Columns (header row required; order free; extra columns ``id``/``patient`` and ``indication``
allowed):

==========  ===============================================================
dose        dose level, 1-based integer
entry_day   day of treatment (number)
tox         DLT: 1/yes/y/true, 0/no/n/false, or empty = pending
tox_day     day after entry on which the DLT occurred (empty if none/unknown)
eff         response, as ``tox`` (optional column: when absent, efficacy is unknown, which
            only matters to the phase I/II designs)
eff_day     day after entry of the response
cohort      ``escalation`` (default when empty or absent) or ``backfill`` (BF-BOIN)
==========  ===============================================================

Every error names the row (1-based, header excluded) and the column.  With a decision time
``now`` and the design's windows, we also refuse entries in the future, events after ``now`` or
after their window, and a "no" recorded before the patient's window has elapsed (leave the cell
empty while the patient is still being followed).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from doseladder.core.errors import InputError
from doseladder.core.state import Patient

__all__ = ["parse_patients_csv", "read_patients_csv"]

REQUIRED = ("dose", "entry_day", "tox")
KNOWN = (*REQUIRED, "tox_day", "eff", "eff_day", "id", "patient", "indication", "cohort")
COHORTS = ("escalation", "backfill")
_YES = {"1", "yes", "y", "true", "t"}
_NO = {"0", "no", "n", "false", "f"}


def _flag(raw: str, where: str) -> bool | None:
    v = raw.strip().lower()
    if v == "" or v in {"pending", "na", "."}:
        return None
    if v in _YES:
        return True
    if v in _NO:
        return False
    raise InputError(where, f"{raw!r} is not 1/0, yes/no, or empty for pending")


def _number(raw: str, where: str, *, integer: bool = False) -> float | None:
    v = raw.strip()
    if v == "":
        return None
    try:
        x = float(v)
    except ValueError:
        raise InputError(where, f"{raw!r} is not a number") from None
    if x != x or x in (float("inf"), float("-inf")):
        raise InputError(where, f"{raw!r} is not a finite number")
    if integer and x != int(x):
        raise InputError(where, f"{raw!r} is not a whole number")
    return x


def parse_patients_csv(
    text: str,
    *,
    now: float | None = None,
    tox_window: float | None = None,
    eff_window: float | None = None,
) -> tuple[Patient, ...]:
    """Parse CSV text into patients ordered by entry day (stable for ties)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    if not header:
        raise InputError("patients", "the file is empty; expected a header row")
    reader.fieldnames = header
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InputError("patients", f"missing column(s) {', '.join(missing)}")
    unknown = [c for c in header if c not in KNOWN]
    if unknown:
        raise InputError(
            "patients", f"unknown column(s) {', '.join(unknown)}; allowed {', '.join(KNOWN)}"
        )
    patients: list[Patient] = []
    for i, row in enumerate(reader, start=1):
        if None in row:
            raise InputError(f"row {i}", "has more cells than the header")

        def cell(col: str, _row: dict[str, str | None] = row) -> str:
            return _row.get(col) or ""

        dose = _number(cell("dose"), f"row {i}, dose", integer=True)
        if dose is None:
            raise InputError(f"row {i}, dose", "is empty")
        if dose < 1:
            raise InputError(f"row {i}, dose", f"dose level {dose:g} is below 1")
        entry = _number(cell("entry_day"), f"row {i}, entry_day")
        if entry is None:
            raise InputError(f"row {i}, entry_day", "is empty")
        if now is not None and entry > now:
            raise InputError(
                f"row {i}, entry_day", f"entry on day {entry:g} is after now (day {now:g})"
            )
        fields: dict[str, bool | float | None] = {}
        for ep, window in (("tox", tox_window), ("eff", eff_window)):
            # a missing column means the endpoint is not recorded at all: unknown (pending),
            # never "no" -- designs that do not use efficacy ignore it
            flag = _flag(cell(ep), f"row {i}, {ep}") if ep in header else None
            day = _number(cell(f"{ep}_day"), f"row {i}, {ep}_day")
            if day is not None:
                if flag is not True:
                    raise InputError(f"row {i}, {ep}_day", f"given but {ep} is not yes")
                if day < 0:
                    raise InputError(f"row {i}, {ep}_day", f"{day:g} is negative")
                if window is not None and day > window:
                    raise InputError(
                        f"row {i}, {ep}_day", f"day {day:g} is after the {window:g}-day window"
                    )
                if now is not None and entry + day > now:
                    raise InputError(
                        f"row {i}, {ep}_day",
                        f"event on day {entry + day:g} is after now (day {now:g})",
                    )
            if flag is False and now is not None and window is not None and now - entry < window:
                raise InputError(
                    f"row {i}, {ep}",
                    f"recorded as no after {now - entry:g} of {window:g} days; "
                    "leave it empty (pending) until the window is complete",
                )
            fields[ep] = flag
            fields[f"{ep}_time"] = day
        kind = cell("cohort").strip().lower() or "escalation"
        if kind not in COHORTS:
            raise InputError(
                f"row {i}, cohort", f"{cell('cohort')!r} is not escalation or backfill"
            )
        patients.append(
            Patient(
                dose=int(dose),
                entry_time=entry,
                tox=fields["tox"],  # type: ignore[arg-type]
                tox_time=fields["tox_time"],
                eff=fields["eff"],  # type: ignore[arg-type]
                eff_time=fields["eff_time"],
                indication=(cell("indication").strip() or None),
                backfill=kind == "backfill",
            )
        )
    if not patients:
        raise InputError("patients", "no patient rows")
    return tuple(sorted(patients, key=lambda p: p.entry_time))


def read_patients_csv(
    path: str | Path,
    *,
    now: float | None = None,
    tox_window: float | None = None,
    eff_window: float | None = None,
) -> tuple[Patient, ...]:
    """Read a patients CSV file (see module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(p), "patients file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(str(p), f"cannot read patients file: {exc}") from None
    try:
        return parse_patients_csv(text, now=now, tox_window=tox_window, eff_window=eff_window)
    except InputError as exc:
        raise InputError(f"{p.name}: {exc.field}", exc.reason) from None
