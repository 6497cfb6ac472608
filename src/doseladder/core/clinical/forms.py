"""Grade one adverse event from its entry form (plain JSON-like mappings, as an API receives).

:func:`grade_event` is the single entry point the conduct service calls: the term decides how
the grade is obtained (:func:`.ctcae_terms.term_kind`):

* a laboratory term → computed from the value and limits (:func:`.ctcae.grade_lab`); form keys
  ``value``, ``unit`` (required), ``uln``, ``lln``, ``baseline``, ``baseline_uln`` (numbers in
  ``unit``), ``missing_baseline``, ``life_threatening``;
* CRS → the ASTCT 2019 form (:func:`.astct.crs_grade`); keys ``temperature_max``,
  ``temperature_unit`` (default °C), ``fever_other_cause``, ``fever_masked_by_treatment``,
  ``hypotension``, ``vasopressors`` (list of agents), ``oxygen``, ``o2_flow_l_per_min``,
  ``death``;
* ICANS → the ASTCT 2019 form (:func:`.astct.icans_grade`); keys ``age_years``,
  ``consciousness``, ``ice`` (0–10), ``capd`` (0–32), ``capd_unable``,
  ``developmental_delay``, ``seizure``, ``motor``, ``cerebral_edema``, ``death``;
* any other catalogue term → the grade chosen from the term's definitions
  (:func:`.ctcae_terms.grade_term`); key ``grade``.

A grade typed next to a computed form (``entered_grade``) must equal the form's grade
(:func:`.grading.check_entered_grade`).  Every error is an :class:`InputError` naming the form
field (``value``, ``unit``, ``ice``, ``grade``, an unknown key, ``term``); nothing is guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from doseladder.core.clinical.astct import crs_grade, icans_grade
from doseladder.core.clinical.ctcae import grade_lab, lab_dimension
from doseladder.core.clinical.ctcae_terms import TermKind, canonical_term, grade_term, term_kind
from doseladder.core.clinical.dlt import TERM_CRS
from doseladder.core.clinical.grading import check_entered_grade
from doseladder.core.clinical.result import Assessment
from doseladder.core.clinical.units import Quantity, parse_unit, temperature
from doseladder.core.errors import InputError

__all__ = ["CRS_FORM_KEYS", "ICANS_FORM_KEYS", "LAB_FORM_KEYS", "grade_event"]

LAB_FORM_KEYS = (
    "value",
    "unit",
    "uln",
    "lln",
    "baseline",
    "baseline_uln",
    "missing_baseline",
    "life_threatening",
)
CRS_FORM_KEYS = (
    "temperature_max",
    "temperature_unit",
    "fever_other_cause",
    "fever_masked_by_treatment",
    "hypotension",
    "vasopressors",
    "oxygen",
    "o2_flow_l_per_min",
    "death",
)
ICANS_FORM_KEYS = (
    "age_years",
    "consciousness",
    "ice",
    "capd",
    "capd_unable",
    "developmental_delay",
    "seizure",
    "motor",
    "cerebral_edema",
    "death",
)


def _check_keys(form: Mapping[str, Any], allowed: tuple[str, ...], what: str) -> None:
    if not isinstance(form, Mapping):
        raise InputError("form", f"must be a mapping of {what} fields")
    for k in form:
        if k not in allowed:
            raise InputError(str(k), f"not a field of the {what} form ({', '.join(allowed)})")


def _number(v: Any, field: str) -> Any:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        raise InputError(field, f"must be a number, got {v!r}")
    if isinstance(v, str):
        from decimal import Decimal, InvalidOperation

        try:
            d = Decimal(v.strip())
        except InvalidOperation:
            raise InputError(field, f"must be a number, got {v!r}") from None
        if not d.is_finite():
            raise InputError(field, f"must be a finite number, got {v!r}")
        return d
    return v


def _int(v: Any, field: str) -> int | None:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise InputError(field, f"must be an integer, got {v!r}")
    return v


def _bool(v: Any, field: str, default: bool | None = None) -> bool | None:
    if v is None:
        return default
    if not isinstance(v, bool):
        raise InputError(field, f"must be true or false, got {v!r}")
    return v


def _lab(term: str, form: Mapping[str, Any]) -> Assessment[int]:
    _check_keys(form, LAB_FORM_KEYS, "laboratory")
    unit = form.get("unit")
    if not isinstance(unit, str) or not unit.strip():
        raise InputError("unit", "required: the unit of the value and its limits (e.g. 10^9/L)")
    if form.get("value") is None:
        raise InputError("value", "required: the laboratory result")
    u = parse_unit(unit, lab_dimension(term))

    def q(key: str) -> Quantity | None:
        v = _number(form.get(key), key)
        return None if v is None else Quantity(v, u)

    return grade_lab(
        term,
        q("value"),
        lln=q("lln"),
        uln=q("uln"),
        baseline=q("baseline"),
        baseline_uln=q("baseline_uln"),
        missing_baseline=form.get("missing_baseline") or "not_evaluable",
        life_threatening=_bool(form.get("life_threatening"), "life_threatening"),
    )


def _crs(form: Mapping[str, Any]) -> Assessment[int]:
    _check_keys(form, CRS_FORM_KEYS, "ASTCT CRS")
    t = _number(form.get("temperature_max"), "temperature_max")
    unit = form.get("temperature_unit") or "°C"
    if not isinstance(unit, str):
        raise InputError("temperature_unit", f"must be °C or °F, got {unit!r}")
    unit = {"c": "°C", "f": "°F"}.get(unit.strip().lower(), unit)
    vaso = form.get("vasopressors") or []
    if isinstance(vaso, str) or not isinstance(vaso, list | tuple):
        raise InputError("vasopressors", "must be a list of agent names")
    for i, a in enumerate(vaso):
        if not isinstance(a, str):
            raise InputError(f"vasopressors[{i}]", f"must be an agent name, got {a!r}")
    return crs_grade(
        temperature_max=None if t is None else temperature(t, unit),
        fever_other_cause=_bool(form.get("fever_other_cause"), "fever_other_cause"),
        fever_masked_by_treatment=bool(
            _bool(form.get("fever_masked_by_treatment"), "fever_masked_by_treatment", False)
        ),
        hypotension=_bool(form.get("hypotension"), "hypotension"),
        vasopressors=tuple(vaso),
        oxygen=form.get("oxygen"),
        o2_flow_l_per_min=_number(form.get("o2_flow_l_per_min"), "o2_flow_l_per_min"),
        death_due_to_crs=bool(_bool(form.get("death"), "death", False)),
    )


def _icans(form: Mapping[str, Any]) -> Assessment[int]:
    _check_keys(form, ICANS_FORM_KEYS, "ASTCT ICANS")
    return icans_grade(
        age_years=_number(form.get("age_years"), "age_years"),
        consciousness=form.get("consciousness"),
        ice=_int(form.get("ice"), "ice"),
        capd=_int(form.get("capd"), "capd"),
        capd_unable=bool(_bool(form.get("capd_unable"), "capd_unable", False)),
        developmental_delay=bool(
            _bool(form.get("developmental_delay"), "developmental_delay", False)
        ),
        seizure=form.get("seizure") or "none",
        motor=form.get("motor") or "none",
        cerebral_edema=form.get("cerebral_edema") or "none",
        death_due_to_icans=bool(_bool(form.get("death"), "death", False)),
    )


def grade_event(
    term: str, form: Mapping[str, Any], entered_grade: int | None = None
) -> Assessment[int]:
    """The grade of one adverse event from its form (see the module docstring).

    Args:
        term: CTCAE v5.0 term, lab term or CRS / ICANS (aliases and case accepted).
        form: the form's fields (plain JSON values).
        entered_grade: a grade the person typed: refused when it contradicts a computed form;
            for a chosen-grade term it may replace ``form["grade"]``.

    Returns:
        The :class:`Assessment` (``value`` = grade; ``inputs`` record the form).  A computed
        form that is not evaluable is returned as such when no grade was entered.

    Raises:
        InputError: naming the field (``term``, ``unit``, ``value``, ``ice``, ``grade``, …).
    """
    kind = term_kind(term)
    name = canonical_term(term)
    if kind == TermKind.CHOSEN:
        _check_keys(form, ("grade",), f"CTCAE v5.0 {name!r}")
        grade = form.get("grade", entered_grade)
        if entered_grade is not None and grade != entered_grade:
            raise InputError("grade", f"form grade {grade!r} differs from the entered grade")
        if grade is None:
            raise InputError("grade", f"required: choose a grade from the {name!r} definitions")
        if isinstance(grade, bool) or not isinstance(grade, int):
            raise InputError("grade", f"must be an integer grade, got {grade!r}")
        return grade_term(name, grade)
    if kind == TermKind.LAB:
        a = _lab(name, form)
    elif name == TERM_CRS:
        a = _crs(form)
    else:
        a = _icans(form)
    if entered_grade is not None:
        check_entered_grade(entered_grade, a)
    return a
