"""Evaluate one criterion's logic against a patient record (three-valued, with evidence).

Every leaf returns a :class:`NodeResult` carrying its status, the values it used (with dates
and sources), the data it missed and plain-English reasons; combinations use the Kleene
operators of :mod:`.status`.  Clinical computations are delegated to
:mod:`doseladder.core.clinical` (calculators, SLEDAI, BILAG, classification, ITP); comparisons
are exact (:class:`fractions.Fraction`, units converted exactly by
:mod:`doseladder.core.clinical.units`).

Data selection (documented in ``docs/eligibility.md``):

* a measured value, score or serology result is the **latest** dated one in the look-back
  window ``[screening − window, screening]`` (the node's ``within``, else the screening
  look-back, default 28 days); undated values and values after the screening date are
  ignored; two different results on the latest date make the item ``needs_review``;
* a value in a unit of the right dimension that cannot be converted exactly (haemoglobin in
  mmol/L against a g/L threshold) is ``not_evaluable``; a value in a unit of the wrong
  dimension never reaches the engine (the record reader refuses it);
* "× ULN" uses the upper limit reported with that value; without one, ``not_evaluable``;
* the absence of a medication / condition / event is only ``not_met`` when the record declares
  that history complete (``history_complete``), otherwise ``not_evaluable`` (open world).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from doseladder.core.clinical import bilag as bilag_mod
from doseladder.core.clinical import calculators, itp, sledai
from doseladder.core.clinical import classification as cls_mod
from doseladder.core.clinical.result import Assessment
from doseladder.core.clinical.units import compare, to_fraction
from doseladder.core.eligibility.dates import Window
from doseladder.core.eligibility.logic import (
    Age,
    AllOf,
    AnyOf,
    AtLeast,
    Attest,
    BilagAOrB,
    CalcCmp,
    ClassificationIs,
    Comparator,
    CriterionRef,
    DiagnosisOf,
    EventOf,
    Glucocorticoid,
    IndicationIs,
    ItpEntry,
    MeasureCmp,
    Node,
    Not,
    Received,
    Review,
    ScoreCmp,
    SerologyIs,
    SexIs,
    SledaiTotalClinical,
    compare_exact,
    fmt_number,
)
from doseladder.core.eligibility.record import (
    EventRecord,
    MedicationRecord,
    Observation,
    PatientRecord,
    ScoreRecord,
)
from doseladder.core.eligibility.status import Status, s_all, s_any, s_at_least, s_not
from doseladder.core.eligibility.vocab import (
    CONDITIONS,
    DRUG_CLASSES,
    EVENT_KINDS,
    MEASURES,
    SCORES,
    SEROLOGY_TESTS,
    condition_parents,
)
from doseladder.core.errors import InputError

__all__ = ["DEFAULT_LOOKBACK_DAYS", "Context", "NodeResult", "UsedValue", "evaluate"]

DEFAULT_LOOKBACK_DAYS = 28
"""Default screening look-back for values "at screening" (the seeds state no screening
window; doseladder's choice, recorded in every result that uses it)."""

_SYM = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "="}
_NON_SYSTEMIC = frozenset(
    {"topical", "cutaneous", "inhaled", "inhalation", "nasal", "ophthalmic", "otic", "rectal"}
)


@dataclass(frozen=True, slots=True)
class UsedValue:
    """One value a result used: what, the value with its unit, when and where from."""

    name: str
    value: str
    date: date | None = None
    source: str = ""
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "date": None if self.date is None else self.date.isoformat(),
            "source": self.source,
            "detail": self.detail,
        }

    def text(self) -> str:
        when = f" ({self.date.isoformat()})" if self.date is not None else ""
        extra = f"; {self.detail}" if self.detail else ""
        return f"{self.name} {self.value}{when}{extra}"


@dataclass(frozen=True, slots=True)
class NodeResult:
    """The result of one node: status, reasons, values used, missing data, children."""

    description: str
    status: Status
    reasons: tuple[str, ...] = ()
    values: tuple[UsedValue, ...] = ()
    missing: tuple[str, ...] = ()
    children: tuple[NodeResult, ...] = ()
    informational: bool = False
    combinator: bool = False

    def all_values(self) -> tuple[UsedValue, ...]:
        """Values used here and in the children (each once, in order)."""
        out: list[UsedValue] = list(self.values)
        for c in self.children:
            out += c.all_values()
        return tuple(dict.fromkeys(out))

    def all_missing(self) -> tuple[str, ...]:
        """Missing data here and in the (non-informational) children whose status is unknown."""
        out: list[str] = list(self.missing)
        for c in self.children:
            if not c.informational and not c.status.known:
                out += c.all_missing()
        return tuple(dict.fromkeys(out))

    def leaf_reasons(self) -> tuple[str, ...]:
        """Reasons of the leaves, depth first (what a person reads); a combination's own
        summary line is left out."""
        if not self.children:
            return self.reasons
        out: list[str] = [] if self.combinator else list(self.reasons)
        for c in self.children:
            out += [
                ("(suggested reading, not applied) " if c.informational else "") + r
                for r in c.leaf_reasons()
            ]
        return tuple(out)

    def decisive_reasons(self) -> tuple[str, ...]:
        """Reasons of the leaves that decide the status (the failing items of a failed
        ``all_of``, the met items of a met ``any_of``, the unknown items of an unknown one)."""
        if not self.children or not self.combinator:
            return self.leaf_reasons()
        if self.status.known:
            picked = [c for c in self.children if c.status is self.status]
            if not picked:  # a negation: the child has the opposite status
                picked = list(self.children)
        else:
            picked = [c for c in self.children if not c.status.known]
        out: list[str] = []
        for c in picked:
            out += c.decisive_reasons()
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "values": [v.to_dict() for v in self.values],
            "missing": list(self.missing),
            "informational": self.informational,
            "children": [c.to_dict() for c in self.children],
        }


@dataclass(frozen=True)
class Context:
    """What a node is evaluated against."""

    record: PatientRecord
    screening_date: date
    criterion_id: str
    indication: str | None = None
    lookback_days: int = DEFAULT_LOOKBACK_DAYS
    criterion_status: Callable[[str], Status | None] = field(default=lambda _id: None)

    def window(self, w: Window | None) -> Window:
        return w if w is not None else Window(self.lookback_days, "days")

    def start(self, w: Window | None) -> date:
        return self.window(w).start(self.screening_date)

    def window_text(self, w: Window | None) -> str:
        if w is None:
            return f"the {self.lookback_days}-day screening look-back"
        return f"{w.describe()} before screening"


def _r(
    node: Node,
    status: Status,
    reason: str,
    values: Iterable[UsedValue] = (),
    missing: Iterable[str] = (),
) -> NodeResult:
    return NodeResult(node.describe(), status, (reason,), tuple(values), tuple(missing))


def _yes(b: bool) -> Status:
    return Status.MET if b else Status.NOT_MET


def _word(s: Status) -> str:
    return s.label


def _ascending(items: Iterable[Any]) -> list[Any]:
    return sorted(items, key=lambda x: x.date)


# ------------------------------------------------------------------------------ combinations
def _combine(node: AllOf | AnyOf | AtLeast | Not, ctx: Context) -> NodeResult:
    if isinstance(node, Not):
        child = evaluate(node.child, ctx)
        st = s_not(child.status)
        return NodeResult(
            node.describe(),
            st,
            (f"not: {_word(child.status)} → {_word(st)}",),
            children=(child,),
            combinator=True,
        )
    children = tuple(evaluate(c, ctx) for c in node.children)
    statuses = [c.status for c in children]
    if isinstance(node, AllOf):
        st = s_all(statuses)
        name = "all of"
    elif isinstance(node, AnyOf):
        st = s_any(statuses)
        name = "any of"
    else:
        st = s_at_least(node.n, statuses)
        name = f"at least {node.n} of"
    counts = ", ".join(
        f"{sum(s is x for s in statuses)} {x.label}"
        for x in Status
        if any(s is x for s in statuses)
    )
    return NodeResult(
        node.describe(),
        st,
        (f"{name} ({counts}): {_word(st)}",),
        children=children,
        combinator=True,
    )


# ------------------------------------------------------------------------------ demographics
def _age(node: Age, ctx: Context) -> NodeResult:
    rec = ctx.record
    on = ctx.screening_date
    note = ""
    if node.at == "consent":
        if rec.consent_date is not None:
            on = rec.consent_date
        else:
            note = " (no consent date recorded: age taken at the screening date)"
    bounds = rec.age_bounds(on)
    if bounds is None:
        return _r(
            node, Status.NOT_EVALUABLE, "No birth date or age recorded.", missing=["birth_date"]
        )
    lo, hi = bounds
    results = {compare_exact(Fraction(a), node.op, Fraction(node.years)) for a in range(lo, hi + 1)}
    age_text = f"{lo}" if lo == hi else f"{lo}–{hi} (partial birth date)"
    born = (
        rec.birth_earliest.isoformat()
        if rec.birth_earliest is not None and rec.birth_earliest == rec.birth_latest
        else None
    )
    detail = f"born {born}" if born else ""
    v = UsedValue(
        "age", f"{age_text} years", on, "birth_date" if rec.birth_earliest else "age_years", detail
    )
    if len(results) == 2:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"Age {age_text} years on {on.isoformat()}: the partial birth date does not decide "
            f"age {_SYM[node.op]} {node.years}{note}.",
            [v],
            ["birth_date (full date)"],
        )
    ok = results.pop()
    return _r(
        node,
        _yes(ok),
        f"Age {age_text} years on {on.isoformat()} "
        f"{_SYM[node.op] if ok else 'is not ' + _SYM[node.op]} {node.years}{note}.",
        [v],
    )


def _sex(node: SexIs, ctx: Context) -> NodeResult:
    sex = ctx.record.sex
    if sex is None:
        return _r(
            node, Status.NOT_EVALUABLE, "Sex not recorded (or not female/male).", missing=["sex"]
        )
    return _r(node, _yes(sex in node.sexes), f"Sex {sex}.", [UsedValue("sex", sex, source="sex")])


def _indication(node: IndicationIs, ctx: Context) -> NodeResult:
    if ctx.indication is None:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            "The indication screened for is not given.",
            missing=["indication"],
        )
    ok = ctx.indication in node.ids
    return _r(
        node,
        _yes(ok),
        f"Screened for {ctx.indication}" + ("." if ok else f", not {' / '.join(node.ids)}."),
        [UsedValue("indication", ctx.indication, source="indication")],
    )


def _criterion_ref(node: CriterionRef, ctx: Context) -> NodeResult:
    st = ctx.criterion_status(node.criterion_id)
    if st is None:
        return _r(
            node, Status.MET, f"Criterion {node.criterion_id} does not apply to this indication."
        )
    return _r(node, st, f"Criterion {node.criterion_id}: {_word(st)}.")


# ----------------------------------------------------------------------------------- values
def _latest(items: Sequence[Any], ctx: Context, w: Window | None) -> tuple[list[Any], str]:
    """Items dated inside the window, on the latest date; and a note on what was skipped."""
    start = ctx.start(w)
    dated = [x for x in items if x.date is not None]
    inside = [x for x in dated if start <= x.date <= ctx.screening_date]
    notes = []
    if len(dated) < len(items):
        notes.append(f"{len(items) - len(dated)} undated result(s) ignored")
    older = [x for x in dated if x.date < start]
    if older and not inside:
        last = max(x.date for x in older)
        notes.append(
            f"latest result {last.isoformat()} is before the window start {start.isoformat()}"
        )
    later = [x for x in dated if x.date > ctx.screening_date]
    if later:
        notes.append(f"{len(later)} result(s) after the screening date ignored")
    if not inside:
        return [], "; ".join(notes)
    last_date = max(x.date for x in inside)
    return [x for x in inside if x.date == last_date], "; ".join(notes)


def _measure_one(node: MeasureCmp, o: Observation) -> tuple[Status, str, UsedValue]:
    label = MEASURES[node.measure].label
    if node.value is not None:
        threshold = node.value
        thr_text = str(threshold)
        detail = ""
    else:
        limit = o.uln if node.uln is not None else o.lln
        k = node.uln if node.uln is not None else node.lln
        which = "ULN" if node.uln is not None else "LLN"
        assert k is not None
        if limit is None:
            v = UsedValue(label, str(o.value), o.date, o.source, f"no {which} reported")
            return (
                Status.NOT_EVALUABLE,
                f"{label} {o.value}: no {which} reported with the value.",
                v,
            )
        threshold = limit.times(k)
        thr_text = f"{fmt_number(k)} × {which} ({limit}) = {threshold}"
        detail = f"{which} {limit}"
    v = UsedValue(label, str(o.value), o.date, o.source, detail)
    try:
        ok = compare(o.value, node.op, threshold)
    except InputError:
        return (
            Status.NOT_EVALUABLE,
            f"{label} {o.value} cannot be compared exactly with {thr_text} (no exact unit "
            "conversion).",
            v,
        )
    shown = str(o.value)
    if o.value.unit is not threshold.unit:
        with contextlib.suppress(InputError):
            shown += f" = {o.value.to(threshold.unit)}"
    rel = _SYM[node.op] if ok else f"not {_SYM[node.op]}"
    return _yes(ok), f"{label} {shown} on {o.date} {rel} {thr_text}.", v


def _measure_any(node: MeasureCmp, ctx: Context) -> NodeResult:
    label = MEASURES[node.measure].label
    start = ctx.start(node.within)
    obs = _ascending(
        o
        for o in ctx.record.observations
        if o.measure == node.measure
        and o.date is not None
        and start <= o.date <= ctx.screening_date
    )
    if not obs:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No {label} within {ctx.window_text(node.within)}.",
            missing=[f"{node.measure} within {ctx.window_text(node.within)}"],
        )
    outs = [_measure_one(node, o) for o in obs]
    st = s_any(s for s, _r_, _v in outs)
    return NodeResult(
        node.describe(),
        st,
        tuple(r for _s, r, _v in outs),
        tuple(v for _s, _r_, v in outs),
        () if st.known else (f"{node.measure} in a comparable unit / with its limits",),
    )


def _measure(node: MeasureCmp, ctx: Context) -> NodeResult:
    if node.which == "any":
        return _measure_any(node, ctx)
    label = MEASURES[node.measure].label
    obs = [o for o in ctx.record.observations if o.measure == node.measure]
    picked, note = _latest(obs, ctx, node.within)
    if not picked:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No {label} within {ctx.window_text(node.within)}" + (f" ({note})." if note else "."),
            missing=[f"{node.measure} within {ctx.window_text(node.within)}"],
        )
    outs = [_measure_one(node, o) for o in picked]
    statuses = {s for s, _r_, _v in outs}
    values = [v for _s, _r_, v in outs]
    reasons = [r for _s, r, _v in outs]
    if len(statuses) > 1:
        return NodeResult(
            node.describe(),
            Status.NEEDS_REVIEW,
            (*reasons, f"Conflicting {label} results on the same day: a person must decide."),
            tuple(values),
        )
    st = statuses.pop()
    missing: list[str] = []
    if not st.known:
        if node.value is not None:
            missing = [f"{node.measure} in a unit convertible to {node.value.unit}"]
        else:
            missing = [f"{'ULN' if node.uln is not None else 'LLN'} of {node.measure}"]
    return NodeResult(node.describe(), st, tuple(reasons), tuple(values), tuple(missing))


def _latest_obs(ctx: Context, measure: str, w: Window | None) -> Observation | None:
    picked, _note = _latest([o for o in ctx.record.observations if o.measure == measure], ctx, w)
    return picked[-1] if picked else None


def _assessment_value(a: Assessment[float]) -> Fraction | None:
    return None if a.value is None else to_fraction(a.value, a.instrument)


def _calc(node: CalcCmp, ctx: Context) -> NodeResult:
    rec = ctx.record
    bounds = rec.age_bounds(ctx.screening_date)
    scr = _latest_obs(ctx, "creatinine", node.within)
    weight = _latest_obs(ctx, "weight", node.within)
    height = _latest_obs(ctx, "height", None if node.within is None else node.within)
    if height is None:
        # height changes slowly: any height in the last year (children: needed by Schwartz)
        height = _latest_obs(ctx, "height", Window(1, "years"))
    values = [
        UsedValue(MEASURES[o.measure].label, str(o.value), o.date, o.source)
        for o in (scr, weight, height)
        if o is not None
    ]
    missing: list[str] = []
    if bounds is None:
        missing.append("birth_date")
    if scr is None:
        missing.append(f"creatinine within {ctx.window_text(node.within)}")
    if node.calc == "crcl_cockcroft_gault":
        if weight is None:
            missing.append(f"weight within {ctx.window_text(node.within)}")
        if rec.sex is None:
            missing.append("sex")
    if node.calc == "egfr" and scr is None:
        reported = _latest_obs(ctx, "egfr_reported", node.within)
        if reported is not None:
            ok = compare(reported.value, node.op, node.value)
            v = UsedValue("reported eGFR", str(reported.value), reported.date, reported.source)
            return _r(
                node,
                _yes(ok),
                f"Laboratory-reported eGFR {reported.value} (equation not stated) "
                f"{_SYM[node.op] if ok else 'not ' + _SYM[node.op]} {node.value}.",
                [v],
            )
    if missing:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            "Cannot calculate: missing " + ", ".join(missing) + ".",
            values,
            missing,
        )
    assert bounds is not None and scr is not None
    ages = sorted({bounds[0], bounds[1]})
    results: list[tuple[Status, str, Fraction | None, bool]] = []
    for age in ages:
        try:
            if node.calc == "crcl_cockcroft_gault":
                assert weight is not None
                a = calculators.cockcroft_gault(
                    age_years=age,
                    weight=weight.value,
                    serum_creatinine=scr.value,
                    sex=rec.sex,
                    height=None if height is None else height.value,
                )
            else:
                a = calculators.egfr(
                    age_years=age,
                    serum_creatinine=scr.value,
                    sex=rec.sex,
                    height=None if height is None else height.value,
                )
        except InputError as exc:
            return _r(node, Status.NOT_EVALUABLE, f"Cannot calculate: {exc}.", values, [exc.field])
        val = _assessment_value(a)
        if val is None:
            return _r(
                node,
                Status.NOT_EVALUABLE,
                f"{a.instrument}: " + " ".join(a.reasons),
                values,
                list(a.missing),
            )
        threshold = node.value.canonical()
        ok = compare_exact(val, node.op, threshold)
        text = (
            f"{a.instrument} = {float(val):.1f} {a.unit} (age {age}) "
            f"{_SYM[node.op] if ok else 'not ' + _SYM[node.op]} {node.value}. "
            + " ".join(a.reasons)
        )
        results.append((_yes(ok), text, val, a.needs_review))
        values.append(
            UsedValue(
                a.instrument,
                f"{float(val):.1f} {a.unit}",
                scr.date,
                "calculated",
                " ".join(a.reasons),
            )
        )
    statuses = {s for s, _t, _v, _n in results}
    reasons = tuple(t for _s, t, _v, _n in results)
    if len(statuses) > 1:
        return NodeResult(
            node.describe(),
            Status.NOT_EVALUABLE,
            (*reasons, "The partial birth date does not decide it."),
            tuple(values),
            ("birth_date (full date)",),
        )
    st = statuses.pop()
    if any(n for _s, _t, _v, n in results):
        return NodeResult(
            node.describe(),
            Status.NEEDS_REVIEW,
            (*reasons, "The calculator flags this result for review (see above)."),
            tuple(values),
        )
    return NodeResult(node.describe(), st, reasons, tuple(values))


# ----------------------------------------------------------------------------------- scores
_SLEDAI_INSTRUMENTS: dict[str, tuple[sledai.SledaiVariant, bool]] = {
    "sledai_2k": (sledai.SledaiVariant.SLEDAI_2K, False),
    "clinical_sledai_2k": (sledai.SledaiVariant.SLEDAI_2K, True),
    "selena_sledai": (sledai.SledaiVariant.SELENA_SLEDAI, False),
    "clinical_selena_sledai": (sledai.SledaiVariant.SELENA_SLEDAI, True),
}


def _dec(x: Fraction) -> Decimal:
    """Exact decimal of a fraction with a terminating expansion (else 28 digits)."""
    return Decimal(x.numerator) / Decimal(x.denominator)


def _show(x: Fraction) -> str:
    return fmt_number(x) if x.denominator == 1 else f"{float(x):.4g}"


def _ceil(x: Fraction) -> int:
    return -((-x.numerator) // x.denominator)


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _sledai_threshold(findings_rec: Any, node: ScoreCmp, ctx: Context) -> NodeResult:
    variant, clinical = _SLEDAI_INSTRUMENTS[node.instrument]
    findings = dict(findings_rec.findings)
    if findings_rec.rest_absent:
        findings = sledai.findings_from_sets(
            [k for k, v in findings.items() if v is True],
            [k for k, v in findings.items() if v is False],
            [k for k, v in findings.items() if v is None],
            rest_absent=True,
        )
    v = node.value
    source = findings_rec.source
    if node.op == "==":
        fn = sledai.clinical_sledai if clinical else sledai.sledai
        a_total = fn(findings, variant=variant)
        used = UsedValue(
            a_total.instrument,
            "not evaluable" if a_total.value is None else str(a_total.value),
            findings_rec.date,
            source,
        )
        if a_total.value is None:
            return _r(
                node, Status.NOT_EVALUABLE, " ".join(a_total.reasons), [used], a_total.missing
            )
        ok = Fraction(a_total.value) == v
        st = Status.NEEDS_REVIEW if a_total.needs_review else _yes(ok)
        return _r(
            node,
            st,
            f"{a_total.instrument} = {a_total.value}. " + " ".join(a_total.reasons),
            [used],
        )
    # ≥ / > decide from partial data via sledai_at_least; ≤ / < are its negation
    if node.op in (">=", ">"):
        k = _ceil(v) if node.op == ">=" else _floor(v) + 1
        negate = False
    else:
        k = _floor(v) + 1 if node.op == "<=" else _ceil(v)
        negate = True
    a = sledai.sledai_at_least(findings, max(k, 0), clinical=clinical, variant=variant)
    st = Status.NOT_EVALUABLE if a.value is None else _yes(bool(a.value))
    if negate:
        st = s_not(st)
    if a.needs_review and st.known:
        st = Status.NEEDS_REVIEW
    points = sum(int(c.points or 0) for c in a.contributions)
    used = UsedValue(
        f"{'clinical ' if clinical else ''}{variant.value}",
        f"{points} known points",
        findings_rec.date,
        source,
        ", ".join(f"{c.item} {c.points}" for c in a.contributions),
    )
    return _r(node, st, " ".join(a.reasons), [used], a.missing)


def _reported_score(
    ctx: Context, instrument: str, w: Window | None
) -> tuple[list[ScoreRecord], str]:
    return _latest([s for s in ctx.record.scores if s.instrument == instrument], ctx, w)


def _score(node: ScoreCmp, ctx: Context) -> NodeResult:
    label = SCORES[node.instrument].label
    if node.instrument in _SLEDAI_INSTRUMENTS:
        picked_f, _n = _latest(list(ctx.record.sledai), ctx, node.within)
        if picked_f:
            return _sledai_threshold(picked_f[-1], node, ctx)
    picked, note = _reported_score(ctx, node.instrument, node.within)
    if not picked:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No {label} within {ctx.window_text(node.within)}" + (f" ({note})." if note else "."),
            missing=[f"{node.instrument} within {ctx.window_text(node.within)}"],
        )
    outs = []
    for s in picked:
        ok = compare_exact(s.value, node.op, node.value)
        outs.append(
            (
                _yes(ok),
                f"{label} {fmt_number(s.value)} on {s.date} "
                f"{_SYM[node.op] if ok else 'not ' + _SYM[node.op]} {fmt_number(node.value)}.",
                UsedValue(label, fmt_number(s.value), s.date, s.source),
            )
        )
    statuses = {o[0] for o in outs}
    if len(statuses) > 1:
        return NodeResult(
            node.describe(),
            Status.NEEDS_REVIEW,
            (*(o[1] for o in outs), f"Conflicting {label} values on the same day."),
            tuple(o[2] for o in outs),
        )
    return NodeResult(
        node.describe(), statuses.pop(), tuple(o[1] for o in outs), tuple(o[2] for o in outs)
    )


def _sledai_rule(node: SledaiTotalClinical, ctx: Context) -> NodeResult:
    picked_f, _n = _latest(list(ctx.record.sledai), ctx, node.within)
    if picked_f:
        rec = picked_f[-1]
        findings: Any = dict(rec.findings)
        if rec.rest_absent:
            findings = sledai.findings_from_sets(
                [k for k, v in rec.findings.items() if v is True],
                [k for k, v in rec.findings.items() if v is False],
                [k for k, v in rec.findings.items() if v is None],
                rest_absent=True,
            )
        a = sledai.sledai_total_and_clinical_at_least(
            findings, total_min=node.total_min, clinical_min=node.clinical_min
        )
        st = Status.NOT_EVALUABLE if a.value is None else _yes(bool(a.value))
        used = UsedValue(
            "SLEDAI-2K descriptors",
            ", ".join(f"{c.item} {c.points}" for c in a.contributions) or "none scored",
            rec.date,
            rec.source,
        )
        return _r(node, st, " ".join(a.reasons), [used], a.missing)
    totals, note = _reported_score(ctx, "sledai_2k", node.within)
    if not totals:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No SLEDAI-2K within {ctx.window_text(node.within)}"
            + (f" ({note})." if note else "."),
            missing=[f"sledai_2k within {ctx.window_text(node.within)}"],
        )
    t = totals[-1]
    used_r = [UsedValue("SLEDAI-2K", fmt_number(t.value), t.date, t.source)]
    if t.value < node.total_min:
        return _r(
            node, Status.NOT_MET, f"SLEDAI-2K {fmt_number(t.value)} < {node.total_min}.", used_r
        )
    clin = [
        c for c in ctx.record.scores if c.instrument == "clinical_sledai_2k" and c.date == t.date
    ]
    if clin:
        c = clin[-1]
        used_r.append(UsedValue("clinical SLEDAI-2K", fmt_number(c.value), c.date, c.source))
        sero = t.value - c.value
        if sero < 0:
            return _r(
                node,
                Status.NEEDS_REVIEW,
                "Clinical SLEDAI-2K exceeds the total: inconsistent scores.",
                used_r,
            )
        ok = sero == 0 or c.value >= node.clinical_min
        return _r(
            node,
            _yes(ok),
            f"SLEDAI-2K {fmt_number(t.value)} ≥ {node.total_min}; serology points "
            f"{fmt_number(sero)}; clinical {fmt_number(c.value)}"
            + ("." if ok else f" < {node.clinical_min} with serology scored."),
            used_r,
        )
    # serology contributes 0, 2 or 4 points: clinical ≥ total − 4
    if t.value - 4 >= node.clinical_min:
        return _r(
            node,
            Status.MET,
            f"SLEDAI-2K {fmt_number(t.value)}: clinical score is at least "
            f"{fmt_number(t.value - 4)} ≥ {node.clinical_min} whatever the serology points.",
            used_r,
        )
    return _r(
        node,
        Status.NOT_EVALUABLE,
        f"SLEDAI-2K {fmt_number(t.value)} ≥ {node.total_min}, but the clinical SLEDAI-2K (or the "
        "descriptors) is needed to decide the serology condition.",
        used_r,
        ["clinical_sledai_2k (or SLEDAI descriptors) on the same date"],
    )


def _bilag(node: BilagAOrB, ctx: Context) -> NodeResult:
    picked, note = _latest(list(ctx.record.bilag), ctx, node.within)
    if not picked:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No BILAG grading within {ctx.window_text(node.within)}"
            + (f" ({note})." if note else "."),
            missing=[f"BILAG grades within {ctx.window_text(node.within)}"],
        )
    rec = picked[-1]
    a = bilag_mod.bilag_a_or_b_threshold(
        rec.grades, min_a=node.min_a, min_b=node.min_b, scheme=rec.scheme
    )
    st = Status.NOT_EVALUABLE if a.value is None else _yes(bool(a.value))
    grades = ", ".join(f"{k} {v}" for k, v in rec.grades.items() if v is not None)
    reasons = list(a.reasons)
    if rec.scheme != node.scheme:
        reasons.append(
            f"Grades recorded with the {rec.scheme} scheme (criterion names {node.scheme})."
        )
    return NodeResult(
        node.describe(),
        st,
        tuple(reasons),
        (UsedValue(f"{rec.scheme} grades", grades or "none graded", rec.date, rec.source),),
        a.missing,
    )


def _assessment_status(a: Assessment[Any]) -> Status:
    if a.value is None:
        return Status.NOT_EVALUABLE
    return _yes(bool(a.value))


def _classification_one(name: str, ctx: Context, at_least: str | None) -> NodeResult:
    recs = [c for c in ctx.record.classifications if c.name == name]
    desc = ClassificationIs(name, at_least).describe()  # type: ignore[arg-type]
    if not recs:
        return NodeResult(
            desc,
            Status.NOT_EVALUABLE,
            (f"No {name} data recorded.",),
            missing=(f"classifications.{name}",),
        )
    rec = recs[-1]
    if rec.criteria is not None:
        if name == "eular_acr_2019_sle":
            a: Assessment[Any] = cls_mod.eular_acr_2019(
                dict(rec.criteria), ana_ge_1_80=rec.ana_ge_1_80, rest_absent=rec.rest_absent
            )
            st = _assessment_status(a)
        elif name == "acr_1997_sle":
            a = cls_mod.acr_1997(dict(rec.criteria), rest_absent=rec.rest_absent)
            st = _assessment_status(a)
        else:
            if rec.muscle_biopsy is None:
                return NodeResult(
                    desc,
                    Status.NOT_EVALUABLE,
                    ("Whether a muscle biopsy is available is not recorded.",),
                    missing=(f"classifications.{name}.muscle_biopsy",),
                )
            a = cls_mod.iim_2017(
                dict(rec.criteria),
                age_at_onset_years=(
                    None if rec.age_at_onset_years is None else _dec(rec.age_at_onset_years)
                ),
                muscle_biopsy=rec.muscle_biopsy,
                better_explanation=rec.better_explanation,
                rest_absent=rec.rest_absent,
            )
            cat = a.value
            if cat is None:
                st = Status.NOT_EVALUABLE
            elif at_least == "definite":
                st = _yes(cat is cls_mod.IimCategory.DEFINITE)
            else:
                st = _yes(cat.at_least_probable)
        shown = (
            "not evaluable"
            if a.value is None
            else ("classified" if a.value else "not classified")
            if isinstance(a.value, bool)
            else str(getattr(a.value, "value", a.value))
        )
        used = UsedValue(
            a.instrument,
            shown,
            rec.date,
            rec.source,
            ", ".join(c.item for c in a.contributions),
        )
        return NodeResult(desc, st, a.reasons, (used,), a.missing)
    if name == "iim_2017" and rec.score is not None:
        if rec.muscle_biopsy is None:
            return NodeResult(
                desc,
                Status.NOT_EVALUABLE,
                ("IIM score recorded without saying whether a muscle biopsy was used.",),
                missing=(f"classifications.{name}.muscle_biopsy",),
            )
        cat = cls_mod._iim_category(_dec(rec.score), rec.muscle_biopsy)
        st = (
            _yes(cat is cls_mod.IimCategory.DEFINITE)
            if at_least == "definite"
            else _yes(cat.at_least_probable)
        )
        return NodeResult(
            desc,
            st,
            (
                f"Recorded 2017 EULAR/ACR IIM score {fmt_number(rec.score)} "
                f"({'with' if rec.muscle_biopsy else 'without'} biopsy): {cat.value}.",
            ),
            (
                UsedValue(
                    "2017 EULAR/ACR IIM score",
                    fmt_number(rec.score),
                    rec.date,
                    rec.source,
                    cat.value,
                ),
            ),
        )
    if rec.met is not None:
        return NodeResult(
            desc,
            _yes(rec.met),
            (
                f"Classification recorded as {'met' if rec.met else 'not met'} "
                "(no criterion-level data).",
            ),
            (
                UsedValue(
                    name, "met" if rec.met else "not met", rec.date, rec.source, "recorded result"
                ),
            ),
        )
    return NodeResult(
        desc,
        Status.NOT_EVALUABLE,
        (f"{name}: nothing recorded.",),
        missing=(f"classifications.{name}",),
    )


def _classification(node: ClassificationIs, ctx: Context) -> NodeResult:
    if node.name == "eular_2019_or_acr_1997_sle":
        parts = (
            _classification_one("eular_acr_2019_sle", ctx, None),
            _classification_one("acr_1997_sle", ctx, None),
        )
        st = s_any(p.status for p in parts)
        return NodeResult(
            node.describe(),
            st,
            (
                f"Either criteria set (2019 EULAR/ACR {parts[0].status.label}; "
                f"1997 ACR {parts[1].status.label}).",
            ),
            children=parts,
        )
    return _classification_one(node.name, ctx, node.at_least)


def _itp(node: ItpEntry, ctx: Context) -> NodeResult:
    start = None if node.within is None else ctx.start(node.within)
    counts = _ascending(
        o
        for o in ctx.record.observations
        if o.measure == "platelets"
        and o.date is not None
        and o.date <= ctx.screening_date
        and (start is None or o.date >= start)
    )
    if not counts:
        return _r(
            node, Status.NOT_EVALUABLE, "No dated platelet counts.", missing=["platelets (series)"]
        )
    series = [_dec(o.value.to("10^9/L").value) for o in counts]
    a = itp.sle_itp_platelet_entry(
        series, threshold=_dec(node.below), min_consecutive=node.consecutive
    )
    values = [UsedValue("platelet count", str(o.value), o.date, o.source) for o in counts]
    return _r(node, _assessment_status(a), " ".join(a.reasons), values, a.missing)


# ------------------------------------------------------------------------------- history
def _complete(ctx: Context, kind: str) -> bool:
    return kind in ctx.record.history_complete


def _diagnosis(node: DiagnosisOf, ctx: Context) -> NodeResult:
    label = CONDITIONS[node.condition]
    matches = [
        c
        for c in ctx.record.conditions
        if c.key == node.condition
        or (c.key is not None and node.condition in condition_parents(c.key))
    ]
    positives = [c for c in matches if not c.refuted]
    refuted = [c for c in matches if c.refuted]
    values = [
        UsedValue(
            "condition",
            c.text or CONDITIONS.get(c.key or "", ""),
            c.onset,
            c.source,
            (
                "refuted"
                if c.refuted
                else "onset " + (c.onset.isoformat() if c.onset else "unknown")
            ),
        )
        for c in matches
    ]
    sc = ctx.screening_date
    states: list[Status] = []
    for c in positives:
        if c.onset is not None and c.onset > sc:
            states.append(Status.NOT_MET)
            continue
        if node.since is not None:
            limit = node.since.start(sc)
            states.append(Status.NOT_EVALUABLE if c.onset is None else _yes(c.onset <= limit))
        elif node.within is not None:
            wstart = node.within.start(sc)
            if c.abated is not None:
                states.append(_yes(c.abated >= wstart))
            elif c.active is True or (c.onset is not None and c.onset >= wstart):
                states.append(Status.MET)
            else:
                states.append(Status.NOT_EVALUABLE)
        else:
            states.append(Status.MET)
    st = s_any(states) if states else Status.NOT_MET
    # a dated diagnosis decides a duration ("for at least 6 months"); otherwise the absence of
    # a qualifying record proves nothing unless the condition history is complete
    decided_by_dates = node.since is not None and bool(positives)
    if st is Status.NOT_MET and not (refuted or decided_by_dates or _complete(ctx, "conditions")):
        st = Status.NOT_EVALUABLE
        reason = f"No qualifying record of {label}; the condition history is not declared complete."
        return _r(
            node,
            st,
            reason,
            values,
            [f"history of {node.condition} (or history_complete.conditions)"],
        )
    if st is Status.NOT_EVALUABLE:
        return _r(
            node,
            st,
            f"{label}: a date is missing to decide.",
            values,
            [f"onset/abatement date of {node.condition}"],
        )
    if st is Status.MET:
        return _r(node, st, f"{label} recorded.", values)
    if decided_by_dates:
        limit = node.since.start(sc) if node.since is not None else sc
        return _r(node, st, f"{label} diagnosed after {limit.isoformat()}: too recent.", values)
    why = (
        "refuted"
        if refuted and not positives
        else "the condition history is complete and has no qualifying record"
    )
    return _r(node, st, f"No {label}: {why}.", values)


def _serology(node: SerologyIs, ctx: Context) -> NodeResult:
    label = SEROLOGY_TESTS[node.test]
    picked, note = _latest(
        [s for s in ctx.record.serology if s.test == node.test], ctx, node.within
    )
    if not picked:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"No {label} result within {ctx.window_text(node.within)}"
            + (f" ({note})." if note else "."),
            missing=[f"{node.test} within {ctx.window_text(node.within)}"],
        )
    outs: list[tuple[Status, str, UsedValue]] = []
    for s in picked:
        shown = "positive" if s.positive else "negative" if s.positive is False else "indeterminate"
        v = UsedValue(label, shown + (f" ({s.detail})" if s.detail else ""), s.date, s.source)
        if s.positive is None:
            outs.append((Status.NOT_EVALUABLE, f"{label} on {s.date}: indeterminate.", v))
            continue
        if node.result == "negative":
            outs.append((_yes(not s.positive), f"{label} {shown} on {s.date}.", v))
            continue
        if not s.positive:
            outs.append((Status.NOT_MET, f"{label} negative on {s.date}.", v))
        elif node.min_titer is None:
            outs.append((Status.MET, f"{label} positive on {s.date}.", v))
        elif s.titer is None:
            outs.append(
                (Status.NOT_EVALUABLE, f"{label} positive on {s.date}, titre not recorded.", v)
            )
        else:
            outs.append(
                (
                    _yes(s.titer >= node.min_titer),
                    f"{label} titre 1:{s.titer} on {s.date} (≥1:{node.min_titer} required).",
                    v,
                )
            )
    statuses = {o[0] for o in outs}
    st = statuses.pop() if len(statuses) == 1 else Status.NEEDS_REVIEW
    missing = [f"{node.test} result"] if st is Status.NOT_EVALUABLE else []
    reasons = tuple(o[1] for o in outs) + (
        ()
        if len(outs) == 1 or st is not Status.NEEDS_REVIEW
        else ("Conflicting results on the same day.",)
    )
    return NodeResult(node.describe(), st, reasons, tuple(o[2] for o in outs), tuple(missing))


def _overlap(
    start: date | None, end: date | None, ongoing: bool, wstart: date | None, anchor: date
) -> Status:
    """Was something taken/done during ``[wstart, anchor]`` (``wstart=None``: ever)?"""
    eff_end = end if end is not None else (anchor if ongoing else None)
    if start is not None and start > anchor:
        return Status.NOT_MET
    if wstart is None:
        # "ever": a record is evidence of exposure unless it starts after screening
        return Status.MET
    if eff_end is not None:
        if eff_end < wstart:
            return Status.NOT_MET
        return Status.MET
    # end unknown
    if start is not None and start >= wstart:
        return Status.MET
    return Status.NOT_EVALUABLE


def _med_matches(m: MedicationRecord, drugs: frozenset[str], classes: frozenset[str]) -> bool:
    return (m.name is not None and m.name in drugs) or bool(m.classes & classes)


def _route_status(route: str | None, routes: frozenset[str] | None) -> Status:
    if routes is None:
        return Status.MET
    if route is None:
        return Status.NOT_EVALUABLE
    return _yes(route.lower() in routes)


def _exposure(
    node: Node,
    ctx: Context,
    meds: list[MedicationRecord],
    events: list[EventRecord],
    within: Window | None,
    routes: frozenset[str] | None,
    history_kinds: tuple[str, ...],
    what: str,
    explicit_negative: bool = False,
    uncertain: Sequence[MedicationRecord] = (),
) -> NodeResult:
    wstart = None if within is None else within.start(ctx.screening_date)
    states: list[Status] = []
    values: list[UsedValue] = []
    for m in uncertain:
        hit = _overlap(m.start, m.end, m.ongoing, wstart, ctx.screening_date)
        if hit is not Status.NOT_MET:
            states.append(Status.NOT_EVALUABLE)
            values.append(
                UsedValue("vaccine", m.text or "?", m.start, m.source, "live or not: unknown")
            )
    for m in meds:
        st = s_all(
            [
                _overlap(m.start, m.end, m.ongoing, wstart, ctx.screening_date),
                _route_status(m.route, routes),
            ]
        )
        states.append(st)
        period = f"{m.start or '?'} to {m.end or ('ongoing' if m.ongoing else '?')}"
        values.append(
            UsedValue(
                "medication",
                m.text or (m.name or "?"),
                m.start,
                m.source,
                f"{period}{'; ' + m.route if m.route else ''}",
            )
        )
    for e in events:
        st = _overlap(
            e.date, e.end if e.end is not None else e.date, False, wstart, ctx.screening_date
        )
        states.append(st)
        values.append(
            UsedValue(
                "event",
                EVENT_KINDS.get(e.kind, e.kind) + (f" ({e.detail})" if e.detail else ""),
                e.date,
                e.source,
            )
        )
    span = ctx.window_text(within) if within is not None else "ever"
    st = s_any(states)
    if st is Status.MET:
        return _r(node, st, f"{what}: recorded {'within ' + span if within else '(ever)'}.", values)
    complete = all(_complete(ctx, k) for k in history_kinds) or explicit_negative
    if st is Status.NOT_MET or not states:
        if complete:
            return _r(
                node,
                Status.NOT_MET,
                f"{what}: none {'within ' + span if within else 'ever'} (history complete).",
                values,
            )
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"{what}: none recorded {'within ' + span if within else ''}, but the "
            f"{'/'.join(history_kinds)} history is not declared complete.",
            values,
            [f"history_complete.{k}" for k in history_kinds],
        )
    return _r(
        node,
        Status.NOT_EVALUABLE,
        f"{what}: dates or route missing to decide.",
        values,
        ["medication/event dates"],
    )


def _received(node: Received, ctx: Context) -> NodeResult:
    meds = [
        m
        for m in ctx.record.medications
        if not m.not_taken and _med_matches(m, node.drugs, node.classes)
    ]
    event_kinds = node.classes & frozenset(EVENT_KINDS)
    events = [e for e in ctx.record.events if e.kind in event_kinds]
    negatives = {m.name for m in ctx.record.medications if m.not_taken and m.name is not None}
    explicit = bool(node.drugs) and not node.classes and node.drugs <= negatives
    kinds: tuple[str, ...] = ("medications", "events") if event_kinds else ("medications",)
    what = "Received " + " or ".join(
        sorted(node.drugs) + [DRUG_CLASSES[c] for c in sorted(node.classes)]
    )
    uncertain = _unknown_vaccines(ctx, node.classes)
    return _exposure(
        node, ctx, meds, events, node.within, node.routes, kinds, what, explicit, uncertain
    )


def _unknown_vaccines(ctx: Context, classes: frozenset[str]) -> list[MedicationRecord]:
    """Vaccines not known to be live or non-live, when live vaccines are asked about."""
    if "live_vaccine" not in classes:
        return []
    return [
        m
        for m in ctx.record.medications
        if "vaccine" in m.classes
        and not m.not_taken
        and not m.classes & {"live_vaccine", "non_live_vaccine"}
    ]


def _event(node: EventOf, ctx: Context) -> NodeResult:
    events = [e for e in ctx.record.events if e.kind in node.kinds]
    drug_kinds = node.kinds & frozenset(DRUG_CLASSES)
    meds = [m for m in ctx.record.medications if not m.not_taken and m.classes & drug_kinds]
    kinds: tuple[str, ...] = ("events", "medications") if drug_kinds else ("events",)
    what = " or ".join(EVENT_KINDS[k] for k in sorted(node.kinds))
    uncertain = _unknown_vaccines(ctx, drug_kinds)
    return _exposure(
        node,
        ctx,
        meds,
        events,
        node.within,
        None,
        kinds,
        what[0].upper() + what[1:],
        uncertain=uncertain,
    )


# --------------------------------------------------------------------------- glucocorticoids
def _active_on(m: MedicationRecord, d: date, anchor: date) -> Status:
    if m.start is not None and m.start > d:
        return Status.NOT_MET
    end = m.end if m.end is not None else (anchor if m.ongoing else None)
    if end is not None and end < d:
        return Status.NOT_MET
    if m.start is None or end is None:
        return Status.NOT_EVALUABLE
    return Status.MET


def _gc_day(
    meds: list[MedicationRecord],
    d: date,
    anchor: date,
    op: Comparator,
    threshold: Fraction,
    per_kg: Fraction | None,
) -> tuple[Status, Fraction, list[str]]:
    """Status of "daily total op threshold" on day ``d``; the known total; problems."""
    known: list[calculators.GlucocorticoidDose] = []
    unknown = False
    problems: list[str] = []
    for m in meds:
        act = _active_on(m, d, anchor)
        if act is Status.NOT_MET:
            continue
        if m.dose_per_day is None or m.name is None:
            unknown = True
            problems.append(f"{m.text}: daily dose unknown")
            continue
        if act is Status.NOT_EVALUABLE:
            unknown = True
            problems.append(f"{m.text}: period unknown")
            continue
        known.append(calculators.GlucocorticoidDose(m.name, m.dose_per_day, m.route))
    try:
        a = calculators.prednisone_equivalent(known)
    except InputError as exc:
        return Status.NOT_EVALUABLE, Fraction(0), [exc.reason]
    total = to_fraction(a.value or 0)
    value = total / per_kg if per_kg is not None else total
    ok = compare_exact(value, op, threshold)
    if not unknown:
        return _yes(ok), total, problems
    # unknown extra dose only increases the total
    if op in (">=", ">") and ok:
        return Status.MET, total, problems
    if op in ("<=", "<") and not ok:
        return Status.NOT_MET, total, problems
    return Status.NOT_EVALUABLE, total, problems


def _glucocorticoid(node: Glucocorticoid, ctx: Context) -> NodeResult:
    anchor = ctx.screening_date
    meds = [
        m
        for m in ctx.record.medications
        if "glucocorticoid" in m.classes
        and not m.not_taken
        and (
            (node.routes is not None and m.route is not None and m.route.lower() in node.routes)
            or (node.routes is None and (m.route or "").lower() not in _NON_SYSTEMIC)
            or (node.routes is not None and m.route is None)
        )
    ]
    route_unknown = node.routes is not None and any(m.route is None for m in meds)
    values = [
        UsedValue(
            "glucocorticoid",
            f"{m.text}: {m.dose_per_day or '?'}/day" + (f" {m.route}" if m.route else ""),
            m.start,
            m.source,
            f"{m.start or '?'} to {m.end or ('ongoing' if m.ongoing else '?')}",
        )
        for m in meds
    ]
    per_kg: Fraction | None = None
    if node.mg_per_kg_per_day is not None:
        w = _latest_obs(ctx, "weight", None)
        if w is None:
            return _r(
                node, Status.NOT_EVALUABLE, "Body weight needed for mg/kg/day.", values, ["weight"]
            )
        per_kg = w.value.to("kg").value
        values.append(UsedValue("body weight", str(w.value), w.date, w.source))
    threshold = node.mg_per_day if node.mg_per_day is not None else node.mg_per_kg_per_day
    assert threshold is not None
    unit = "mg/day" if per_kg is None else "mg/kg/day"
    if not meds and not _complete(ctx, "medications"):
        return _r(
            node,
            Status.NOT_EVALUABLE,
            "No glucocorticoid recorded and the medication history is not declared complete "
            "(a total of 0 cannot be assumed).",
            values,
            ["history_complete.medications"],
        )
    if node.within is None:
        st, total, problems = _gc_day(meds, anchor, anchor, node.op, threshold, per_kg)
        shown = total if per_kg is None else total / per_kg
        if route_unknown and st.known:
            st = Status.NOT_EVALUABLE
            problems.append("route not recorded")
        text = (
            f"Prednisone-equivalent {_show(shown)} {unit} "
            f"on {anchor} ({_word(st)} for {_SYM[node.op]} {fmt_number(threshold)} {unit})"
            + (f"; {'; '.join(problems)}" if problems else "")
            + "."
        )
        values.append(
            UsedValue(
                "prednisone-equivalent total", f"{float(shown):g} {unit}", anchor, "calculated"
            )
        )
        return _r(node, st, text, values, ["glucocorticoid dose/period"] if not st.known else [])
    start = node.within.start(anchor)
    days: list[Status] = []
    d = start
    worst_problems: list[str] = []
    while d <= anchor:
        st, _t, problems = _gc_day(meds, d, anchor, node.op, threshold, per_kg)
        days.append(st)
        worst_problems += problems
        d += timedelta(days=1)
    # a run of for_days consecutive MET days?
    best = run = 0
    best_possible = run_possible = 0
    for st in days:
        run = run + 1 if st is Status.MET else 0
        run_possible = run_possible + 1 if st is not Status.NOT_MET else 0
        best = max(best, run)
        best_possible = max(best_possible, run_possible)
    if best >= node.for_days:
        status = Status.MET
    elif best_possible < node.for_days:
        status = Status.NOT_MET
    else:
        status = Status.NOT_EVALUABLE
    text = (
        f"Longest run of days with prednisone-equivalent {_SYM[node.op]} {fmt_number(threshold)} "
        f"{unit} between {start} and {anchor}: {best} day(s) known"
        + (f", up to {best_possible} with unknown doses/periods" if best_possible > best else "")
        + f" ({node.for_days} required)."
    )
    missing = ["glucocorticoid dose/period"] if status is Status.NOT_EVALUABLE else []
    if worst_problems and status is Status.NOT_EVALUABLE:
        text += " " + "; ".join(dict.fromkeys(worst_problems)) + "."
    return _r(node, status, text, values, missing)


# ---------------------------------------------------------------------------- judgement
def _attest(node: Attest, ctx: Context) -> NodeResult:
    key = node.key(ctx.criterion_id)
    a = ctx.record.attestations.get(key)
    if a is None or a.value is None:
        return _r(
            node,
            Status.NOT_EVALUABLE,
            f"Investigator attestation {key!r} not given.",
            missing=[f"attestation {key}"],
        )
    who = f" by {a.by}" if a.by else ""
    v = UsedValue(
        "attestation",
        "yes" if a.value else "no",
        None,
        a.source or f"attestations.{key}",
        "; ".join(x for x in (a.note, f"by {a.by}" if a.by else None) if x),
    )
    return _r(
        node, _yes(a.value), f"Investigator attests {'yes' if a.value else 'no'}{who} ({key}).", [v]
    )


def _review(node: Review, ctx: Context) -> NodeResult:
    children: tuple[NodeResult, ...] = ()
    reasons = [f"Not evaluated as written: {node.note}"]
    if node.reading is not None:
        r = evaluate(node.reading, ctx)
        children = (
            NodeResult(
                r.description,
                r.status,
                r.reasons,
                r.values,
                r.missing,
                r.children,
                informational=True,
            ),
        )
        reasons.append(f"The suggested reading would give: {r.status.label} (not applied).")
    return NodeResult(node.describe(), Status.NEEDS_REVIEW, tuple(reasons), children=children)


# ------------------------------------------------------------------------------- dispatch
def evaluate(node: Node, ctx: Context) -> NodeResult:
    """Evaluate ``node`` (recursively) in ``ctx``."""
    if isinstance(node, AllOf | AnyOf | AtLeast | Not):
        return _combine(node, ctx)
    if isinstance(node, Age):
        return _age(node, ctx)
    if isinstance(node, SexIs):
        return _sex(node, ctx)
    if isinstance(node, IndicationIs):
        return _indication(node, ctx)
    if isinstance(node, CriterionRef):
        return _criterion_ref(node, ctx)
    if isinstance(node, MeasureCmp):
        return _measure(node, ctx)
    if isinstance(node, CalcCmp):
        return _calc(node, ctx)
    if isinstance(node, ScoreCmp):
        return _score(node, ctx)
    if isinstance(node, SledaiTotalClinical):
        return _sledai_rule(node, ctx)
    if isinstance(node, BilagAOrB):
        return _bilag(node, ctx)
    if isinstance(node, ClassificationIs):
        return _classification(node, ctx)
    if isinstance(node, ItpEntry):
        return _itp(node, ctx)
    if isinstance(node, DiagnosisOf):
        return _diagnosis(node, ctx)
    if isinstance(node, SerologyIs):
        return _serology(node, ctx)
    if isinstance(node, Received):
        return _received(node, ctx)
    if isinstance(node, EventOf):
        return _event(node, ctx)
    if isinstance(node, Glucocorticoid):
        return _glucocorticoid(node, ctx)
    if isinstance(node, Attest):
        return _attest(node, ctx)
    return _review(node, ctx)
