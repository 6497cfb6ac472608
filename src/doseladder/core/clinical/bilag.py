"""BILAG system grades: numeric score, grade counts, "≥1 A or ≥2 B", new A / new B.

Sources (spec ``clinical.md`` §1.5, §1.6, §0.1-2):

* BILAG-2004 has nine systems: constitutional, mucocutaneous, neuropsychiatric,
  musculoskeletal, cardiorespiratory, gastrointestinal, ophthalmic, renal, haematological
  [BILAG-2004 form, revision 1 Sep 2009 (vdocument.in)] [S].
* Grades A (severe, sufficient to require treatment), B (moderate), C (mild/stable),
  D (previously involved, now inactive), E (never involved) [limathon.com ALMS FAQ] [W].
  The item→grade algorithm (glossary rules) is **NOT FOUND** (spec §7-2): grades are
  investigator inputs here, never derived.
* BILAG-2004 numeric score A = 12, B = 8, C = 1, D = 0, E = 0, summed over 9 systems → 0–108
  [Yee 2010, Rheumatology 49:1665, PMC2919194] [P].
* Classic BILAG numeric score A = 9, B = 3, C = 1, D = E = 0 over 8 systems → 0–72
  [medicalalgorithms.com BILAG page] [S]; Cresswell 2009 proposed A = 12, B = 5, C = 1 for
  Classic BILAG [researchportal.bath.ac.uk] [P-abstract].  The Classic system names used here
  (general, mucocutaneous, neurological, musculoskeletal, cardiorespiratory, vasculitis,
  renal, haematological; Hay 1993) are not in the spec — TODO(confirm).
* Seed 002 states "BILAG-2004 score range 0–72", which matches the Classic maximum, not
  BILAG-2004 (108) (spec §0.1-2): the scheme is recorded in every total's ``instrument`` and
  ``inputs["scheme"]`` so such numbers can be told apart.
* Seeds 000/002 "≥1 BILAG A or ≥2 BILAG B": ``count(A) ≥ 1 OR count(B) ≥ 2`` ("2 B" read as
  ≥2) [spec §1.5].
* SRI "new" grades [spec §1.6]: new A = grade A now and not A at baseline; new B = grade B now
  and C, D or E at baseline.  The belimumab-protocol wording is NOT FOUND, so the baseline
  grades that make a grade "new" are parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.errors import InputError

__all__ = [
    "BILAG_2004_SYSTEMS",
    "CLASSIC_SYSTEMS",
    "DEFAULT_NEW_A_FROM",
    "DEFAULT_NEW_B_FROM",
    "BilagCounts",
    "BilagGrade",
    "BilagScheme",
    "GradeInput",
    "NewBilagGrades",
    "NewGradeBounds",
    "bilag_a_or_b_threshold",
    "bilag_counts",
    "bilag_new_grades",
    "bilag_score",
    "new_grade_bounds",
    "parse_grade_set",
    "parse_grades",
]


class BilagGrade(StrEnum):
    """BILAG system grade [spec §1.5]."""

    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"


BILAG_2004_SYSTEMS: tuple[str, ...] = (
    "constitutional",
    "mucocutaneous",
    "neuropsychiatric",
    "musculoskeletal",
    "cardiorespiratory",
    "gastrointestinal",
    "ophthalmic",
    "renal",
    "haematological",
)
"""The nine BILAG-2004 systems [BILAG-2004 form 2009] [S] (spec §1.5)."""

CLASSIC_SYSTEMS: tuple[str, ...] = (
    "general",
    "mucocutaneous",
    "neurological",
    "musculoskeletal",
    "cardiorespiratory",
    "vasculitis",
    "renal",
    "haematological",
)
"""The eight Classic BILAG systems (Hay 1993; names not in the spec — TODO confirm)."""

_SYSTEM_ALIASES: Mapping[str, str] = {
    "hematological": "haematological",
    "haematology": "haematological",
    "hematology": "haematological",
}


@dataclass(frozen=True, slots=True)
class _SchemeDef:
    label: str
    weights: Mapping[BilagGrade, int]
    systems: tuple[str, ...]
    source: str


class BilagScheme(StrEnum):
    """Numeric scoring scheme; recorded with every total (spec §0.1-2)."""

    BILAG_2004 = "BILAG-2004"
    CLASSIC = "Classic BILAG"
    CLASSIC_CRESSWELL_2009 = "Classic BILAG (Cresswell 2009)"

    @property
    def definition(self) -> _SchemeDef:
        return _SCHEMES[self]

    @property
    def maximum(self) -> int:
        d = _SCHEMES[self]
        return d.weights[BilagGrade.A] * len(d.systems)


def _w(a: int, b: int, c: int) -> Mapping[BilagGrade, int]:
    return {BilagGrade.A: a, BilagGrade.B: b, BilagGrade.C: c, BilagGrade.D: 0, BilagGrade.E: 0}


_SCHEMES: Mapping[BilagScheme, _SchemeDef] = {
    BilagScheme.BILAG_2004: _SchemeDef(
        "BILAG-2004 numeric score (A=12, B=8, C=1, D=0, E=0; 9 systems, 0–108)",
        _w(12, 8, 1),
        BILAG_2004_SYSTEMS,
        "Yee 2010, Rheumatology 49:1665 (PMC2919194) [P]",
    ),
    BilagScheme.CLASSIC: _SchemeDef(
        "Classic BILAG numeric score (A=9, B=3, C=1, D=0, E=0; 8 systems, 0–72)",
        _w(9, 3, 1),
        CLASSIC_SYSTEMS,
        "medicalalgorithms.com BILAG page [S]",
    ),
    BilagScheme.CLASSIC_CRESSWELL_2009: _SchemeDef(
        "Classic BILAG numeric score, Cresswell 2009 (A=12, B=5, C=1, D=0, E=0; 8 systems, 0–96)",
        _w(12, 5, 1),
        CLASSIC_SYSTEMS,
        "Cresswell 2009, researchportal.bath.ac.uk [P-abstract]",
    ),
}

GradeInput = BilagGrade | str | None
"""A system grade: ``"A"``–``"E"`` (any case) or ``None`` (not assessed)."""

DEFAULT_NEW_A_FROM: frozenset[BilagGrade] = frozenset(
    {BilagGrade.B, BilagGrade.C, BilagGrade.D, BilagGrade.E}
)
"""Baseline grades from which an A at follow-up is a *new A* [spec §1.6 usual convention]."""

DEFAULT_NEW_B_FROM: frozenset[BilagGrade] = frozenset({BilagGrade.C, BilagGrade.D, BilagGrade.E})
"""Baseline grades from which a B at follow-up is a *new B* [spec §1.6 usual convention]."""


def _parse_scheme(scheme: BilagScheme | str) -> BilagScheme:
    if isinstance(scheme, BilagScheme):
        return scheme
    try:
        return BilagScheme(scheme)
    except ValueError:
        known = ", ".join(s.value for s in BilagScheme)
        raise InputError("scheme", f"unknown BILAG scheme {scheme!r} (known: {known})") from None


def _parse_grade(value: object, field: str) -> BilagGrade | None:
    if value is None:
        return None
    if isinstance(value, BilagGrade):
        return value
    if isinstance(value, str):
        try:
            return BilagGrade(value.strip().upper())
        except ValueError:
            pass
    raise InputError(field, f"BILAG grade must be one of A, B, C, D, E or None, got {value!r}")


def parse_grades(
    grades: Mapping[str, GradeInput],
    *,
    scheme: BilagScheme | str = BilagScheme.BILAG_2004,
    field: str = "grades",
) -> dict[str, BilagGrade | None]:
    """Validate a system → grade mapping; systems left out are ``None`` (not assessed).

    Raises:
        InputError: naming ``field.<system>`` for an unknown system or an invalid grade.
    """
    sch = _parse_scheme(scheme)
    systems = sch.definition.systems
    if not isinstance(grades, Mapping):
        raise InputError(field, "must be a mapping of system → grade")
    out: dict[str, BilagGrade | None] = dict.fromkeys(systems)
    seen: set[str] = set()
    for raw_key, raw in grades.items():
        if not isinstance(raw_key, str):
            raise InputError(field, f"system names must be strings, got {raw_key!r}")
        key = raw_key.strip().lower()
        key = _SYSTEM_ALIASES.get(key, key)
        if key not in out:
            raise InputError(
                f"{field}.{raw_key}",
                f"unknown {sch.value} system (known: {', '.join(systems)})",
            )
        if key in seen:
            raise InputError(f"{field}.{key}", "given twice (directly and via an alias)")
        seen.add(key)
        out[key] = _parse_grade(raw, f"{field}.{key}")
    return out


def _grades_input(grades: Mapping[str, BilagGrade | None]) -> dict[str, str | None]:
    return {k: (None if v is None else v.value) for k, v in grades.items()}


def bilag_score(
    grades: Mapping[str, GradeInput],
    *,
    scheme: BilagScheme | str = BilagScheme.BILAG_2004,
) -> Assessment[int]:
    """Numeric BILAG score: the sum of the scheme's weights over all systems.

    Every system of the scheme must be graded; otherwise not evaluable.  The scheme label
    (weights, systems, range) is the ``instrument`` and ``inputs["scheme"]`` (spec §0.1-2).
    """
    sch = _parse_scheme(scheme)
    d = sch.definition
    parsed = parse_grades(grades, scheme=sch)
    inputs = {"scheme": sch.value, "grades": _grades_input(parsed)}
    missing = tuple(f"grades.{s}" for s, g in parsed.items() if g is None)
    contributions = tuple(
        Contribution(s, d.weights[g], f"{s}: grade {g.value} = {d.weights[g]} points")
        for s, g in parsed.items()
        if g is not None and d.weights[g] > 0
    )
    reasons = [f"Scheme: {d.label} [{d.source}]."]
    if missing:
        reasons.append(
            f"Not evaluable: {len(missing)} system(s) not graded ("
            + ", ".join(m.split(".", 1)[1] for m in missing)
            + ")."
        )
        return Assessment(
            instrument=d.label,
            value=None,
            inputs=inputs,
            contributions=contributions,
            reasons=tuple(reasons),
            missing=missing,
        )
    total = sum(d.weights[g] for g in parsed.values() if g is not None)
    reasons.append(
        "Total = "
        + (" + ".join(f"{c.item} {c.points}" for c in contributions) or "0")
        + f" = {total} (maximum {sch.maximum})."
    )
    return Assessment(
        instrument=d.label,
        value=total,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
    )


@dataclass(frozen=True, slots=True)
class BilagCounts:
    """Number of systems at each grade."""

    a: int
    b: int
    c: int
    d: int
    e: int

    def to_dict(self) -> dict[str, Any]:
        return {"A": self.a, "B": self.b, "C": self.c, "D": self.d, "E": self.e}


def bilag_counts(
    grades: Mapping[str, GradeInput],
    *,
    scheme: BilagScheme | str = BilagScheme.BILAG_2004,
) -> Assessment[BilagCounts]:
    """Count systems by grade; every system must be graded (otherwise not evaluable)."""
    sch = _parse_scheme(scheme)
    parsed = parse_grades(grades, scheme=sch)
    inputs = {"scheme": sch.value, "grades": _grades_input(parsed)}
    instrument = f"{sch.value} grade counts"
    missing = tuple(f"grades.{s}" for s, g in parsed.items() if g is None)
    contributions = tuple(
        Contribution(s, None, f"{s}: grade {g.value}")
        for s, g in parsed.items()
        if g in (BilagGrade.A, BilagGrade.B)
    )
    if missing:
        return Assessment(
            instrument=instrument,
            value=None,
            inputs=inputs,
            contributions=contributions,
            reasons=(f"Not evaluable: {len(missing)} system(s) not graded.",),
            missing=missing,
        )
    n = {g: sum(1 for v in parsed.values() if v is g) for g in BilagGrade}
    counts = BilagCounts(
        n[BilagGrade.A], n[BilagGrade.B], n[BilagGrade.C], n[BilagGrade.D], n[BilagGrade.E]
    )
    return Assessment(
        instrument=instrument,
        value=counts,
        inputs=inputs,
        contributions=contributions,
        reasons=(f"A: {counts.a}, B: {counts.b}, C: {counts.c}, D: {counts.d}, E: {counts.e}.",),
    )


def bilag_a_or_b_threshold(
    grades: Mapping[str, GradeInput],
    *,
    min_a: int = 1,
    min_b: int = 2,
    scheme: BilagScheme | str = BilagScheme.BILAG_2004,
) -> Assessment[bool]:
    """Seeds 000/002: "at least one BILAG A or two BILAG B" → ``A ≥ min_a OR B ≥ min_b``.

    Decided from partial grading when ungraded systems cannot change the answer (met as soon
    as the graded systems reach a count; not met only when even every ungraded system
    being A or B could not); otherwise not evaluable.
    """
    for name, v in (("min_a", min_a), ("min_b", min_b)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InputError(name, f"must be a positive integer, got {v!r}")
    sch = _parse_scheme(scheme)
    parsed = parse_grades(grades, scheme=sch)
    instrument = f"{sch.value}: ≥{min_a} A or ≥{min_b} B"
    inputs = {
        "scheme": sch.value,
        "grades": _grades_input(parsed),
        "min_a": min_a,
        "min_b": min_b,
    }
    a = [s for s, g in parsed.items() if g is BilagGrade.A]
    b = [s for s, g in parsed.items() if g is BilagGrade.B]
    unknown = [s for s, g in parsed.items() if g is None]
    contributions = tuple(Contribution(s, None, f"{s}: grade A") for s in a) + tuple(
        Contribution(s, None, f"{s}: grade B") for s in b
    )
    value: bool | None
    missing: tuple[str, ...] = ()
    if len(a) >= min_a or len(b) >= min_b:
        value = True
        reason = (
            f"Met: {len(a)} system(s) graded A"
            + (f" ≥ {min_a}" if len(a) >= min_a else "")
            + f", {len(b)} graded B"
            + (f" ≥ {min_b}" if len(b) >= min_b else "")
            + "."
        )
    elif len(a) + len(unknown) < min_a and len(b) + len(unknown) < min_b:
        value = False
        reason = f"Not met: {len(a)} A < {min_a} and {len(b)} B < {min_b}" + (
            f", even if the {len(unknown)} ungraded system(s) were A or B." if unknown else "."
        )
    else:
        value = None
        missing = tuple(f"grades.{s}" for s in unknown)
        reason = (
            f"Not evaluable: {len(a)} A and {len(b)} B so far; ungraded systems "
            f"({', '.join(unknown)}) could change the answer."
        )
    return Assessment(
        instrument=instrument,
        value=value,
        inputs=inputs,
        contributions=contributions,
        reasons=(reason,),
        missing=missing,
    )


@dataclass(frozen=True, slots=True)
class NewBilagGrades:
    """Systems newly graded A or B at follow-up compared with baseline [spec §1.6]."""

    new_a: tuple[str, ...]
    new_b: tuple[str, ...]

    @property
    def n_new_a(self) -> int:
        return len(self.new_a)

    @property
    def n_new_b(self) -> int:
        return len(self.new_b)

    def to_dict(self) -> dict[str, Any]:
        return {
            "new_a": list(self.new_a),
            "new_b": list(self.new_b),
            "n_new_a": self.n_new_a,
            "n_new_b": self.n_new_b,
        }


@dataclass(frozen=True, slots=True)
class NewGradeBounds:
    """Systems certainly new A/B, possibly new A/B (a grade is missing), and the missing fields."""

    known_a: tuple[str, ...]
    known_b: tuple[str, ...]
    maybe_a: tuple[str, ...]
    maybe_b: tuple[str, ...]
    missing: tuple[str, ...]


def parse_grade_set(
    value: frozenset[BilagGrade] | frozenset[str] | set[str] | tuple[str, ...],
    field: str,
) -> frozenset[BilagGrade]:
    """Parse a set of grades (e.g. ``{"C", "D", "E"}``), naming ``field`` on error."""
    if isinstance(value, str):
        raise InputError(field, "must be a set of grades, not a single string")
    return frozenset(g for g in (_parse_grade(v, field) for v in value) if g is not None)


def new_grade_bounds(
    baseline: Mapping[str, BilagGrade | None],
    follow_up: Mapping[str, BilagGrade | None],
    new_a_from: frozenset[BilagGrade],
    new_b_from: frozenset[BilagGrade],
) -> NewGradeBounds:
    """Per system: certainly new A/B, possibly new A/B (unknown grades), and missing fields."""
    known_a: list[str] = []
    known_b: list[str] = []
    maybe_a: list[str] = []
    maybe_b: list[str] = []
    missing: list[str] = []
    for s, fu in follow_up.items():
        bl = baseline[s]
        if fu is None:
            could_a = bl is None or bl in new_a_from
            could_b = bl is None or bl in new_b_from
            if could_a:
                maybe_a.append(s)
            if could_b:
                maybe_b.append(s)
            if could_a or could_b:
                missing.append(f"bilag_follow_up.{s}")
                if bl is None:
                    missing.append(f"bilag_baseline.{s}")
            continue
        if fu is BilagGrade.A:
            if bl is None:
                maybe_a.append(s)
                missing.append(f"bilag_baseline.{s}")
            elif bl in new_a_from:
                known_a.append(s)
        elif fu is BilagGrade.B:
            if bl is None:
                maybe_b.append(s)
                missing.append(f"bilag_baseline.{s}")
            elif bl in new_b_from:
                known_b.append(s)
    return NewGradeBounds(
        tuple(known_a), tuple(known_b), tuple(maybe_a), tuple(maybe_b), tuple(missing)
    )


def bilag_new_grades(
    baseline: Mapping[str, GradeInput],
    follow_up: Mapping[str, GradeInput],
    *,
    new_a_from: frozenset[BilagGrade] | frozenset[str] | set[str] | tuple[str, ...] = (
        DEFAULT_NEW_A_FROM
    ),
    new_b_from: frozenset[BilagGrade] | frozenset[str] | set[str] | tuple[str, ...] = (
        DEFAULT_NEW_B_FROM
    ),
) -> Assessment[NewBilagGrades]:
    """New BILAG-2004 A and B grades at follow-up versus baseline [spec §1.6].

    A system is a *new A* when graded A at follow-up and its baseline grade is in
    ``new_a_from`` (default B–E); a *new B* when graded B and its baseline is in ``new_b_from``
    (default C–E).  Not evaluable when an ungraded system could be new.
    """
    bl = parse_grades(baseline, field="bilag_baseline")
    fu = parse_grades(follow_up, field="bilag_follow_up")
    from_a = parse_grade_set(new_a_from, "new_a_from")
    from_b = parse_grade_set(new_b_from, "new_b_from")
    bounds = new_grade_bounds(bl, fu, from_a, from_b)
    inputs = {
        "scheme": BilagScheme.BILAG_2004.value,
        "bilag_baseline": _grades_input(bl),
        "bilag_follow_up": _grades_input(fu),
        "new_a_from": sorted(g.value for g in from_a),
        "new_b_from": sorted(g.value for g in from_b),
    }
    contributions = tuple(
        Contribution(s, None, f"{s}: new A ({bl[s]} → A)") for s in bounds.known_a
    ) + tuple(Contribution(s, None, f"{s}: new B ({bl[s]} → B)") for s in bounds.known_b)
    instrument = "BILAG-2004 new A / new B vs baseline"
    if bounds.missing:
        return Assessment(
            instrument=instrument,
            value=None,
            inputs=inputs,
            contributions=contributions,
            reasons=(
                f"Not evaluable: {len(bounds.known_a)} new A and {len(bounds.known_b)} new B so "
                "far; grades missing for systems that could be new.",
            ),
            missing=bounds.missing,
        )
    value = NewBilagGrades(bounds.known_a, bounds.known_b)
    return Assessment(
        instrument=instrument,
        value=value,
        inputs=inputs,
        contributions=contributions,
        reasons=(
            f"{value.n_new_a} new A ({', '.join(value.new_a) or 'none'}); "
            f"{value.n_new_b} new B ({', '.join(value.new_b) or 'none'}).",
        ),
    )
