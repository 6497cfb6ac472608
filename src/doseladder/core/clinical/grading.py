"""Check a grade a person entered against the grade its form computes.

The conduct layer records an adverse event's grade from a form (CTCAE laboratory value,
ASTCT CRS / ICANS form) or from the term's definitions (:func:`.ctcae_terms.grade_term`).  When
a person also types a grade, :func:`check_entered_grade` refuses one that contradicts the form,
so the recorded grade has one source of truth: the computation.
"""

from __future__ import annotations

from doseladder.core.clinical.result import Assessment
from doseladder.core.errors import InputError

__all__ = ["check_entered_grade"]


def check_entered_grade(
    entered: int | None, computed: Assessment[int], field: str = "grade"
) -> int:
    """The grade to record: the form's grade, which an entered grade must equal.

    Args:
        entered: the grade the person typed (``None`` = not typed; the form decides).
        computed: the form's result (e.g. ``astct.crs_grade(...)``, ``ctcae.grade_lab(...)``).
        field: name of the entered-grade field in error messages.

    Returns:
        The computed grade.

    Raises:
        InputError: (``field``) the entered grade is not an integer 0–5 or differs from the
            computed grade (the message gives the form's grade and its reason); (the first
            missing input, or ``field``) the form is not evaluable, so no grade can be
            recorded from it.
    """
    if entered is not None and (
        isinstance(entered, bool) or not isinstance(entered, int) or not 0 <= entered <= 5
    ):
        raise InputError(field, f"must be an integer grade 0–5, got {entered!r}")
    if not computed.evaluable or computed.value is None:
        where = computed.missing[0] if computed.missing else field
        why = computed.reasons[-1] if computed.reasons else "not evaluable"
        raise InputError(where, f"the {computed.instrument} form gives no grade: {why}")
    grade = computed.value
    if isinstance(grade, bool) or not isinstance(grade, int):
        raise InputError(field, f"{computed.instrument} does not give a grade")
    if entered is not None and entered != grade:
        why = computed.reasons[-1] if computed.reasons else ""
        raise InputError(
            field,
            f"grade {entered} contradicts the {computed.instrument} form, which gives grade "
            f"{grade}" + (f" ({why})" if why else ""),
        )
    return grade
