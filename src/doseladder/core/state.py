"""Trial state: patients, their (possibly pending) outcomes, and the outcome grammar.

A :class:`Patient` records what is *known* about one patient at the time the state was
assembled: the dose level (1-based, as everywhere a person sees it), the entry time, and for
each endpoint (toxicity = DLT, efficacy = response) one of three statuses:

* ``True``  -- the event was observed (at ``tox_time`` / ``eff_time`` after entry, if known);
* ``False`` -- the assessment window was completed without the event;
* ``None``  -- pending: the patient is still being followed.

Pending outcomes are never counted as observed by any design.  Time-to-event designs use the
follow-up ``now - entry_time`` of pending patients; complete-data designs wait for them.

Times are plain floats in any unit (days in the CLI); only differences matter.

The outcome grammar of the R package ``escalation`` is supported by :func:`parse_outcomes`:
``"1NNN 2NTB"`` is a cohort of three at dose 1 (no events) followed by a cohort of three at dose
2.  Letters: ``N`` no toxicity/no efficacy, ``T`` toxicity only, ``E`` efficacy only, ``B`` both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from doseladder.core.errors import InputError

__all__ = ["DoseCounts", "Patient", "TrialState", "format_outcomes", "parse_outcomes"]

_TOKEN = re.compile(r"^(\d+)([NTEBntbe]+)$")
_LETTERS = {"N": (False, False), "T": (True, False), "E": (False, True), "B": (True, True)}


@dataclass(frozen=True, slots=True)
class Patient:
    """One treated patient as known at decision time.

    Attributes:
        dose: dose level, 1-based.
        entry_time: time of treatment (infusion); defaults to 0.
        tox: ``True`` DLT observed, ``False`` window completed without DLT, ``None`` pending.
        tox_time: time from entry to the DLT (only meaningful when ``tox`` is ``True``).
        eff: ``True`` response observed, ``False`` no response in the window, ``None`` pending.
        eff_time: time from entry to the response (only meaningful when ``eff`` is ``True``).
        cohort: sequence number of the cohort the patient was enrolled in (0-based), if known.
        indication: indication/cohort label for multi-indication protocols (``None`` = the
            driving/only indication).
        backfill: ``True`` for a backfill patient (BF-BOIN: treated at a cleared lower dose
            while the escalation cohort is in follow-up); ``False`` (default) for escalation.
    """

    dose: int
    entry_time: float = 0.0
    tox: bool | None = False
    tox_time: float | None = None
    eff: bool | None = False
    eff_time: float | None = None
    cohort: int | None = None
    indication: str | None = None
    backfill: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.dose, bool) or not isinstance(self.dose, int) or self.dose < 1:
            raise InputError("dose", f"must be an integer dose level >= 1, got {self.dose!r}")
        _check_finite("entry_time", self.entry_time)
        for name in ("tox_time", "eff_time"):
            value = getattr(self, name)
            if value is not None:
                _check_finite(name, value)
                if value < 0:
                    raise InputError(name, f"must be >= 0 (time after entry), got {value!r}")
        if self.tox_time is not None and self.tox is not True:
            raise InputError("tox_time", "given but no DLT was recorded (tox is not yes)")
        if self.eff_time is not None and self.eff is not True:
            raise InputError("eff_time", "given but no response was recorded (eff is not yes)")

    @property
    def tox_pending(self) -> bool:
        return self.tox is None

    @property
    def eff_pending(self) -> bool:
        return self.eff is None


def _check_finite(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(name, f"must be a finite number, got {value!r}")


@dataclass(frozen=True, slots=True)
class DoseCounts:
    """Per-dose tallies (index 0 is dose level 1).

    ``n`` counts every treated patient, pending or not; ``tox``/``eff`` count *observed* events
    only; ``tox_pending``/``eff_pending`` count patients whose endpoint is still pending.
    """

    n: tuple[int, ...]
    tox: tuple[int, ...]
    eff: tuple[int, ...]
    tox_pending: tuple[int, ...]
    eff_pending: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class TrialState:
    """Everything a design needs to decide: the patients and the trial-level memory.

    Attributes:
        num_doses: number of dose levels J.
        patients: patients in order of entry.
        current_dose: the dose of the most recent cohort; defaults to the last patient's dose,
            or ``None`` when nobody has been treated (the design's start dose then applies).
        eliminated: dose levels eliminated earlier in the trial (eliminations are permanent);
            designs add any elimination implied by the current data.
    """

    num_doses: int
    patients: tuple[Patient, ...] = ()
    current_dose: int | None = None
    eliminated: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if isinstance(self.num_doses, bool) or not isinstance(self.num_doses, int):
            raise InputError("num_doses", f"must be an integer, got {self.num_doses!r}")
        if self.num_doses < 1:
            raise InputError("num_doses", f"must be >= 1, got {self.num_doses}")
        object.__setattr__(self, "patients", tuple(self.patients))
        object.__setattr__(self, "eliminated", frozenset(self.eliminated))
        for i, p in enumerate(self.patients):
            if not isinstance(p, Patient):
                raise InputError(f"patients[{i}]", "must be a Patient")
            if p.dose > self.num_doses:
                raise InputError(
                    f"patients[{i}].dose",
                    f"dose level {p.dose} is outside 1..{self.num_doses}",
                )
        for d in self.eliminated:
            if not 1 <= d <= self.num_doses:
                raise InputError("eliminated", f"dose level {d} is outside 1..{self.num_doses}")
        if self.current_dose is None:
            if self.patients:
                object.__setattr__(self, "current_dose", self.patients[-1].dose)
        elif not 1 <= self.current_dose <= self.num_doses:
            raise InputError(
                "current_dose", f"dose level {self.current_dose} is outside 1..{self.num_doses}"
            )

    # ------------------------------------------------------------------ views
    @property
    def n_patients(self) -> int:
        return len(self.patients)

    def counts(self) -> DoseCounts:
        """Per-dose counts; pending outcomes are counted as pending, never as events."""
        j = self.num_doses
        n, tox, eff, tp, ep = ([0] * j for _ in range(5))
        for p in self.patients:
            k = p.dose - 1
            n[k] += 1
            tox[k] += p.tox is True
            eff[k] += p.eff is True
            tp[k] += p.tox is None
            ep[k] += p.eff is None
        return DoseCounts(tuple(n), tuple(tox), tuple(eff), tuple(tp), tuple(ep))

    def tried(self) -> frozenset[int]:
        """Dose levels given to at least one patient."""
        return frozenset(p.dose for p in self.patients)

    def any_pending(self, *, efficacy: bool = False) -> bool:
        """Whether any patient has a pending toxicity (or, with ``efficacy``, any) outcome."""
        return any(p.tox is None or (efficacy and p.eff is None) for p in self.patients)

    def validate_at(self, now: float | None) -> None:
        """Check that the state is consistent with a decision time ``now``.

        Entry times and event times must not lie after ``now``.
        """
        if now is None:
            return
        _check_finite("now", now)
        for i, p in enumerate(self.patients):
            if p.entry_time > now:
                raise InputError(
                    f"patients[{i}].entry_time",
                    f"entry at {p.entry_time:g} is after the decision time {now:g}",
                )
            for name in ("tox_time", "eff_time"):
                t = getattr(p, name)
                if t is not None and p.entry_time + t > now:
                    raise InputError(
                        f"patients[{i}].{name}",
                        f"event at {p.entry_time + t:g} is after the decision time {now:g}",
                    )

    # ------------------------------------------------------------- builders
    def with_patients(
        self, patients: Iterable[Patient], *, current_dose: int | None = None
    ) -> TrialState:
        """A new state with ``patients`` appended (current dose follows the last one)."""
        new = (*self.patients, *patients)
        return TrialState(
            self.num_doses,
            new,
            current_dose=current_dose
            if current_dose is not None
            else (new[-1].dose if new else None),
            eliminated=self.eliminated,
        )

    def with_eliminated(self, doses: Iterable[int]) -> TrialState:
        return TrialState(
            self.num_doses,
            self.patients,
            current_dose=self.current_dose,
            eliminated=self.eliminated | frozenset(doses),
        )

    @classmethod
    def from_outcomes(cls, outcomes: str, num_doses: int) -> TrialState:
        """Build a state from the outcome grammar (complete data; every cohort numbered)."""
        return cls(num_doses, tuple(p for c in parse_outcomes(outcomes) for p in c))


def parse_outcomes(outcomes: str) -> list[tuple[Patient, ...]]:
    """Parse ``"1NNN 2NTB"`` into cohorts of complete-data patients.

    Raises :class:`InputError` naming the offending token.  An empty string is an empty trial.
    Each cohort's patients share a cohort number and consecutive entry times (0, 1, 2, ...).
    """
    if not isinstance(outcomes, str):
        raise InputError("outcomes", "must be a string such as '1NNN 2NTB'")
    cohorts: list[tuple[Patient, ...]] = []
    t = 0
    for i, token in enumerate(outcomes.split()):
        m = _TOKEN.match(token)
        if m is None:
            raise InputError(
                "outcomes",
                f"token {i + 1} {token!r} is not a dose number followed by letters N/T/E/B",
            )
        dose = int(m.group(1))
        if dose < 1:
            raise InputError("outcomes", f"token {i + 1} {token!r}: dose levels start at 1")
        cohort = []
        for letter in m.group(2).upper():
            tox, eff = _LETTERS[letter]
            cohort.append(Patient(dose=dose, entry_time=float(t), tox=tox, eff=eff, cohort=i))
            t += 1
        cohorts.append(tuple(cohort))
    return cohorts


def format_outcomes(patients: Sequence[Patient]) -> str:
    """Inverse of :func:`parse_outcomes` for complete data (cohorts by ``cohort`` number)."""
    tokens: list[str] = []
    last: tuple[int | None, int] | None = None
    for p in patients:
        if p.tox is None or p.eff is None:
            raise InputError(
                "patients", "pending outcomes cannot be written in the outcome grammar"
            )
        key = (p.cohort, p.dose)
        letter = {(False, False): "N", (True, False): "T", (False, True): "E", (True, True): "B"}[
            (p.tox, p.eff)
        ]
        if key == last and p.cohort is not None:
            tokens[-1] += letter
        else:
            tokens.append(f"{p.dose}{letter}")
        last = key
    return " ".join(tokens)
