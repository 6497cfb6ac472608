"""``doseladder grade …``: clinical grading in the terminal, through the core's graders.

* ``ctcae-lab TERM VALUE --unit U [--uln/--lln/--baseline …]`` — CTCAE v5.0 laboratory grade
  (:func:`doseladder.core.clinical.ctcae.grade_lab`);
* ``ctcae [TERM] [--grade G]`` — the non-laboratory term catalogue: list the terms, show a
  term's grade definitions, or check a chosen grade
  (:mod:`doseladder.core.clinical.ctcae_terms`);
* ``crs`` / ``icans`` — ASTCT 2019 forms (:mod:`doseladder.core.clinical.astct`);
* ``sledai ITEM…`` — SLEDAI-2K (or SELENA-SLEDAI) from the descriptors present
  (:mod:`doseladder.core.clinical.sledai`);
* ``itp-response`` — seed 000 SLE-ITP response from one count, or the responder call over
  dated counts (:mod:`doseladder.core.clinical.itp`, :mod:`doseladder.core.clinical.response`).

Every command takes ``--json`` (the core's ``Assessment.to_dict()``).  Numbers are read here so
that bad input is always the one-line ``error: <field>: <reason>`` with exit status 2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from doseladder.cli.output import emit_json, handle_errors
from doseladder.core.errors import InputError

if TYPE_CHECKING:
    from doseladder.core.clinical.result import Assessment
    from doseladder.core.clinical.units import Quantity

__all__ = ["grade_app", "register"]

grade_app = typer.Typer(
    help="Grade adverse events and score disease activity (CTCAE v5.0, ASTCT 2019, "
    "SLEDAI-2K, SLE-ITP response).",
    no_args_is_help=True,
)

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def _num(text: str | None, field: str) -> Any:
    """A decimal number given on the command line, exactly (``None`` stays ``None``)."""
    if text is None:
        return None
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text.strip())
    except (InvalidOperation, AttributeError):
        raise InputError(field, f"must be a number, got {text!r}") from None
    if not value.is_finite():
        raise InputError(field, f"must be a finite number, got {text!r}")
    return value


def _int(text: str | None, field: str) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise InputError(field, f"must be an integer, got {text!r}") from None


def _print(a: Assessment[Any], json_: bool, extra: dict[str, Any] | None = None) -> None:
    if json_:
        emit_json({**a.to_dict(), **(extra or {})})
        return
    value = a.value
    shown = getattr(value, "value", value) if value is not None else "not evaluable"
    typer.echo(f"{a.instrument}: {shown}" + (f" {a.unit}" if a.unit and value is not None else ""))
    for c in a.contributions:
        pts = "" if c.points is None else f" [{c.points}]"
        typer.echo(f"  - {c.item}{pts}: {c.detail}" if c.detail else f"  - {c.item}{pts}")
    for r in a.reasons:
        typer.echo(f"  {r}")
    if a.missing:
        typer.echo(f"  missing: {', '.join(a.missing)}")
    if a.needs_review:
        typer.echo("  NEEDS REVIEW: confirm this result (see the reasons above).")


# ------------------------------------------------------------------------------ CTCAE lab
@grade_app.command("ctcae-lab")
@handle_errors
def ctcae_lab_cmd(
    term: Annotated[str, typer.Argument(help="CTCAE lab term or alias (ANC, PLT, ALT, …).")],
    value: Annotated[str, typer.Argument(help="The result, a number in --unit.")],
    unit: Annotated[
        str | None, typer.Option(help="Unit of the value and limits, e.g. 10^9/L.")
    ] = None,
    uln: Annotated[str | None, typer.Option(help="Upper limit of normal (same unit).")] = None,
    lln: Annotated[str | None, typer.Option(help="Lower limit of normal (same unit).")] = None,
    baseline: Annotated[str | None, typer.Option(help="Pre-treatment value (same unit).")] = None,
    baseline_uln: Annotated[
        str | None, typer.Option(help="ULN of the baseline sample if it differs.")
    ] = None,
    life_threatening: Annotated[
        bool | None,
        typer.Option(
            "--life-threatening/--not-life-threatening", help="Anemia only (grade 4 wording)."
        ),
    ] = None,
    missing_baseline: Annotated[
        str,
        typer.Option(
            help="Above the ULN without a baseline: not_evaluable, or grade_by_uln (flagged)."
        ),
    ] = "not_evaluable",
    json_: JsonOpt = False,
) -> None:
    """CTCAE v5.0 grade of one laboratory value (grade computed from the value and limits)."""
    from doseladder.core.clinical.ctcae import grade_lab, lab_dimension
    from doseladder.core.clinical.ctcae_terms import TermKind, canonical_term, term_kind
    from doseladder.core.clinical.units import Quantity, parse_unit

    if term_kind(term) != TermKind.LAB:
        raise InputError(
            "term",
            f"{canonical_term(term)!r} is not a laboratory term (use 'grade ctcae' or the "
            "ASTCT forms)",
        )
    name = canonical_term(term)
    if unit is None or not unit.strip():
        raise InputError("unit", "required: give the unit of the value (e.g. --unit 10^9/L)")
    u = parse_unit(unit, lab_dimension(name))

    def q(text: str | None, field: str) -> Quantity | None:
        v = _num(text, field)
        return None if v is None else Quantity(v, u)

    a = grade_lab(
        name,
        q(value, "value"),
        lln=q(lln, "lln"),
        uln=q(uln, "uln"),
        baseline=q(baseline, "baseline"),
        baseline_uln=q(baseline_uln, "baseline_uln"),
        life_threatening=life_threatening,
        missing_baseline=missing_baseline,
    )
    _print(a, json_)


# ------------------------------------------------------------------------------ CTCAE terms
@grade_app.command("ctcae")
@handle_errors
def ctcae_cmd(
    term: Annotated[
        str | None, typer.Argument(help="A non-lab CTCAE term (omit to list the terms).")
    ] = None,
    grade: Annotated[
        str | None, typer.Option(help="The grade chosen from the term's definitions.")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List the CTCAE v5.0 non-laboratory terms, show one term's grades, or check a grade."""
    from doseladder.core.clinical.ctcae_terms import CTCAE_TERMS, grade_term, lookup_term

    if term is None:
        if grade is not None:
            raise InputError("term", "required with --grade")
        if json_:
            emit_json([t.to_dict() for t in CTCAE_TERMS.values()])
            return
        for t in CTCAE_TERMS.values():
            grades = ", ".join(str(g) for g in t.grade_numbers)
            flag = " [review]" if t.needs_review else ""
            typer.echo(f"{t.name} ({t.soc}): grades {grades}{flag}")
        return
    if grade is None:
        entry = lookup_term(term)
        if json_:
            emit_json(entry.to_dict())
            return
        typer.echo(entry.describe())
        return
    g = _int(grade, "grade")
    assert g is not None
    _print(grade_term(term, g), json_)


# ------------------------------------------------------------------------------ ASTCT CRS
@grade_app.command("crs")
@handle_errors
def crs_cmd(
    temperature: Annotated[
        str | None, typer.Option(help="Highest temperature in the period (see --temp-unit).")
    ] = None,
    temp_unit: Annotated[str, typer.Option(help="°C (C) or °F (F).")] = "°C",
    fever_other_cause: Annotated[
        bool | None,
        typer.Option(
            "--fever-other-cause/--no-fever-other-cause",
            help="Fever attributable to another cause (e.g. documented infection).",
        ),
    ] = None,
    fever_masked: Annotated[
        bool,
        typer.Option(help="Antipyretic or anti-cytokine therapy already given for CRS."),
    ] = False,
    hypotension: Annotated[
        bool | None, typer.Option("--hypotension/--no-hypotension", help="Hypotension present.")
    ] = None,
    vasopressor: Annotated[
        list[str] | None,
        typer.Option(help="A vasopressor running for CRS hypotension (repeat for each agent)."),
    ] = None,
    oxygen: Annotated[
        str | None,
        typer.Option(
            help="O2 support: none, blow_by, nasal_cannula, low_flow_nasal_cannula, "
            "high_flow_nasal_cannula, facemask, non_rebreather, venturi_mask, cpap, bipap, "
            "mechanical_ventilation."
        ),
    ] = None,
    o2_flow: Annotated[str | None, typer.Option(help="Nasal cannula flow, L/min.")] = None,
    death: Annotated[bool, typer.Option(help="Death due to CRS.")] = False,
    grade: Annotated[
        str | None, typer.Option(help="A grade to check against the form (refused if it differs).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """ASTCT 2019 CRS grade from fever, hypotension/vasopressors and oxygen support."""
    from doseladder.core.clinical.astct import crs_grade
    from doseladder.core.clinical.grading import check_entered_grade
    from doseladder.core.clinical.units import temperature as temp_q

    t = _num(temperature, "temperature")
    unit = {"c": "°C", "f": "°F"}.get(temp_unit.strip().lower(), temp_unit)
    a = crs_grade(
        temperature_max=None if t is None else temp_q(t, unit),
        fever_other_cause=fever_other_cause,
        fever_masked_by_treatment=fever_masked,
        hypotension=hypotension,
        vasopressors=tuple(vasopressor or ()),
        oxygen=oxygen,
        o2_flow_l_per_min=_num(o2_flow, "o2_flow"),
        death_due_to_crs=death,
    )
    if grade is not None:
        check_entered_grade(_int(grade, "grade"), a)
    _print(a, json_)


# ------------------------------------------------------------------------------ ASTCT ICANS
@grade_app.command("icans")
@handle_errors
def icans_cmd(
    age: Annotated[str | None, typer.Option(help="Age in years (selects ICE or CAPD).")] = None,
    consciousness: Annotated[
        str | None,
        typer.Option(
            help="alert, awakens_spontaneously, awakens_to_voice, awakens_to_tactile, unarousable."
        ),
    ] = None,
    ice: Annotated[str | None, typer.Option(help="ICE score 0–10 (age ≥ 12).")] = None,
    capd: Annotated[str | None, typer.Option(help="CAPD total 0–32 (children < 12).")] = None,
    capd_unable: Annotated[
        bool, typer.Option(help="The child cannot be assessed with the CAPD.")
    ] = False,
    developmental_delay: Annotated[
        bool, typer.Option(help="Developmental delay: CAPD whatever the age.")
    ] = False,
    seizure: Annotated[
        str, typer.Option(help="none, rapidly_resolving, prolonged_or_repetitive.")
    ] = "none",
    motor: Annotated[str, typer.Option(help="none, deep_focal_weakness.")] = "none",
    cerebral_edema: Annotated[
        str, typer.Option("--oedema", "--cerebral-edema", help="none, focal, diffuse_or_signs.")
    ] = "none",
    death: Annotated[bool, typer.Option(help="Death due to ICANS.")] = False,
    grade: Annotated[
        str | None, typer.Option(help="A grade to check against the form (refused if it differs).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """ASTCT 2019 ICANS grade (ICE for ages ≥ 12, CAPD for younger children)."""
    from doseladder.core.clinical.astct import icans_grade
    from doseladder.core.clinical.grading import check_entered_grade

    a = icans_grade(
        age_years=_num(age, "age"),
        consciousness=consciousness,
        ice=_int(ice, "ice"),
        capd=_int(capd, "capd"),
        capd_unable=capd_unable,
        developmental_delay=developmental_delay,
        seizure=seizure,
        motor=motor,
        cerebral_edema=cerebral_edema,
        death_due_to_icans=death,
    )
    if grade is not None:
        check_entered_grade(_int(grade, "grade"), a)
    _print(a, json_)


# ------------------------------------------------------------------------------ SLEDAI
@grade_app.command("sledai")
@handle_errors
def sledai_cmd(
    items: Annotated[
        list[str] | None,
        typer.Argument(help="Descriptors present (all others absent), e.g. arthritis dsdna."),
    ] = None,
    variant: Annotated[str, typer.Option(help="SLEDAI-2K or SELENA-SLEDAI.")] = "SLEDAI-2K",
    json_: JsonOpt = False,
) -> None:
    """SLEDAI total from the descriptors present (weights of the chosen variant)."""
    from doseladder.core.clinical.sledai import sledai

    present = list(items or [])
    try:
        a = sledai(present, variant=variant)
    except InputError as exc:
        if exc.field.startswith("present"):
            raise InputError("items", exc.reason) from None
        raise
    _print(a, json_)


# ------------------------------------------------------------------------------ ITP response
def _series(text: str) -> list[tuple[Any, Any]]:
    out = []
    for i, part in enumerate(p for p in text.split(",") if p.strip()):
        if ":" not in part:
            raise InputError(f"series[{i}]", f"must be day:count, got {part.strip()!r}")
        day, count = part.split(":", 1)
        out.append((_num(day, f"series[{i}].day"), _num(count, f"series[{i}].count")))
    if not out:
        raise InputError("series", "give at least one day:count pair")
    return out


@grade_app.command("itp-response")
@handle_errors
def itp_response_cmd(
    platelets: Annotated[str | None, typer.Option(help="Platelet count now.")] = None,
    baseline: Annotated[str | None, typer.Option(help="Pre-treatment platelet count.")] = None,
    bleeding: Annotated[
        bool | None, typer.Option("--bleeding/--no-bleeding", help="Bleeding at assessment.")
    ] = None,
    unit: Annotated[str, typer.Option(help="Unit of the counts (10^9/L, 10^3/uL, /uL).")] = (
        "10^9/L"
    ),
    no_bleeding_required_for_cr: Annotated[
        bool, typer.Option(help="Also require no bleeding for CR (IWG-style).")
    ] = False,
    series: Annotated[
        str | None,
        typer.Option(
            help="Dated counts 'day:count,day:count' (days after infusion) for the responder "
            "call; uses --baseline and --bleeding for every count."
        ),
    ] = None,
    by_day: Annotated[str, typer.Option(help="Response counts up to this day.")] = "90",
    today: Annotated[
        str | None, typer.Option(help="Data cut-off day (default: the last count's day).")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """SLE-ITP response (seed 000: CR ≥100; PR 30–100 ×10⁹/L, ≥2× baseline, no bleeding)."""
    from doseladder.core.clinical.itp import itp_response
    from doseladder.core.clinical.response import (
        DatedAssessment,
        ResponseDefinition,
        propose_response,
        score_response,
    )

    if series is None:
        if platelets is None:
            raise InputError("platelets", "required (or give --series)")
        a = itp_response(
            _num(platelets, "platelets"),
            _num(baseline, "baseline_platelets"),
            bleeding,
            unit=unit,
            no_bleeding_required_for_cr=no_bleeding_required_for_cr,
        )
        _print(a, json_)
        return
    if platelets is not None:
        raise InputError("platelets", "give --platelets or --series, not both")
    definition = ResponseDefinition(
        "SLE-ITP",
        "itp_response",
        "by_day",
        _num(by_day, "by_day"),
        params={"no_bleeding_required_for_cr": no_bleeding_required_for_cr},
    )
    rows = _series(series)
    dated = [
        DatedAssessment(
            day,
            score_response(
                definition,
                {
                    "platelets": count,
                    "baseline_platelets": _num(baseline, "baseline_platelets"),
                    "bleeding": bleeding,
                    "unit": unit,
                },
            ),
            f"day {day}",
        )
        for day, count in rows
    ]
    cut = _num(today, "today") if today is not None else max(d for d, _ in rows)
    p = propose_response(definition, dated, infusion_day=0, today=cut)
    if json_:
        emit_json(p.to_dict())
        return
    typer.echo(f"SLE-ITP response by day {by_day}: {p.status.value}")
    for c in p.contributions:
        typer.echo(f"  - {c.detail}")
    for r in p.reasons:
        typer.echo(f"  {r}")


def register(app: typer.Typer) -> None:
    app.add_typer(grade_app, name="grade")
