"""Load and validate protocol files into :class:`~doseladder.protocols.model.Protocol`.

Every failure is an :class:`~doseladder.core.errors.InputError` whose ``field`` is the dotted
path of the offending key in the file -- ``doses[2].amount.unit``, ``rules.fallback.backup_dose``,
``design.phi_t`` -- and whose ``reason`` says what is wrong in one line (the first problem found;
"(and N more problems)" when pydantic found several).  Unknown keys are errors that list the
allowed keys.

Semantic checks beyond the schema (:mod:`doseladder.protocols.schema`):

* dose labels unique; the design's ``num_doses`` (if given) equals the number of doses;
  ``start_dose`` and the fallback's doses may be given as labels;
* time-to-event designs take their windows from ``windows`` (``tox_window`` = ``dlt_days``,
  ``eff_window`` = ``efficacy_days``); giving them in ``design`` as well is an error, so there
  is one source of truth;
* exactly one or no driving indication; indication ids unique; criteria ids unique and their
  ``indications`` known;
* each criterion's ``logic`` parses (:func:`doseladder.core.eligibility.parse.parse_logic`,
  errors at ``criteria[i].logic...``); the criteria and indications it refers to exist, the
  references form no cycle, and ``review`` nodes appear only in criteria flagged
  ``needs_review``;
* the safety monitor's target defaults to the design's toxicity target (φT / target);
* ``dlt``: the window is ``windows.dlt_days``; every term is a known CTCAE v5.0 / ASTCT term
  (:mod:`doseladder.core.clinical.ctcae_terms`, stored in its catalogue spelling); the core
  :class:`~doseladder.core.clinical.dlt.DLTDefinition` checks the rest;
* ``response``: one entry per known indication; ``by_day`` takes its day from
  ``windows.efficacy_days`` when that is set (one source of truth);
* every core object validates its own values, and its error is re-labelled with the file path.
"""

from __future__ import annotations

import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from doseladder.core.clinical.ctcae_terms import canonical_term
from doseladder.core.clinical.dlt import (
    Attribution,
    DLTDefinition,
    DLTExclusion,
    DLTRule,
)
from doseladder.core.clinical.response import ResponseDefinition
from doseladder.core.designs import Design
from doseladder.core.designs.registry import DESIGNS, design_parameters
from doseladder.core.dosing import (
    Amount,
    DoseLevel,
    DoseUnit,
    LymphodepletionAgent,
    LymphodepletionRegimen,
)
from doseladder.core.eligibility.logic import (
    Attest,
    CriterionRef,
    IndicationIs,
    Review,
    walk,
)
from doseladder.core.eligibility.parse import parse_logic
from doseladder.core.errors import InputError
from doseladder.core.rules.backfill import BackfillRule
from doseladder.core.rules.backup_fallback import BackupFallback
from doseladder.core.rules.driving_indication import OtherIndicationPolicy
from doseladder.core.rules.plan import EscalationPlan
from doseladder.core.rules.safety_monitor import PooledSafetyMonitor
from doseladder.core.rules.staggering import SentinelStaggering
from doseladder.core.schedule import (
    Assessment,
    AtDays,
    AtMonths,
    EveryDays,
    EveryMonths,
    TimingRule,
    VisitSchedule,
)
from doseladder.io.design_file import design_from_dict, load_mapping
from doseladder.protocols.model import (
    AssessmentWindows,
    Criterion,
    Indication,
    Protocol,
    ReviewItem,
)
from doseladder.protocols.schema import (
    SCHEMA_VERSION,
    BackfillModel,
    DLTExclusionModel,
    DLTModel,
    FallbackModel,
    ProtocolFile,
    ResponseModel,
    ScheduleModel,
    TimingModel,
)

__all__ = ["load_protocol", "protocol_from_dict", "validation_error_to_input_error"]

_TITE_WINDOWS = {"tox_window": "windows.dlt_days", "eff_window": "windows.efficacy_days"}


# ------------------------------------------------------------------ pydantic errors → paths
def _unwrap(annotation: Any) -> Any:
    """Strip ``X | None`` to ``X`` when only one non-None member remains."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        models = [a for a in args if _is_model(a) or typing.get_origin(a) in (list, dict)]
        if len(models) == 1:
            return models[0]
        return annotation
    return annotation


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _walk(loc: tuple[str | int, ...]) -> tuple[str, type[BaseModel] | None, list[str | int]]:
    """Turn a pydantic ``loc`` into a dotted path; return the path, the model the walk ended
    in (for the allowed keys of an unknown key), and the unconsumed loc items."""
    path = ""
    current: Any = ProtocolFile
    rest = list(loc)
    while rest:
        item = rest[0]
        current = _unwrap(current)
        if isinstance(item, int) and typing.get_origin(current) is list:
            path += f"[{item}]"
            current = typing.get_args(current)[0]
        elif isinstance(item, str) and _is_model(current) and item in current.model_fields:
            path += ("." if path else "") + item
            current = current.model_fields[item].annotation
        elif typing.get_origin(current) is dict and isinstance(item, str):
            path += ("." if path else "") + item
            current = Any
        else:
            break
        rest.pop(0)
    model = _unwrap(current)
    return path, (model if _is_model(model) else None), rest


def validation_error_to_input_error(exc: ValidationError) -> InputError:
    """The first pydantic error as an :class:`InputError` named by its dotted path."""
    errors = exc.errors()
    err = errors[0]
    loc = tuple(err["loc"])
    kind = err["type"]
    path, model, rest = _walk(loc)
    if kind == "extra_forbidden" and rest:
        key = str(rest[0])
        full = f"{path}.{key}" if path else key
        allowed = ", ".join(model.model_fields) if model is not None else "see docs/protocols.md"
        reason = f"unknown key {key!r}; allowed keys: {allowed}"
        path = full
    elif kind == "missing":
        reason = "required key is missing"
    else:
        reason = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if rest and kind not in ("value_error",):
            # a union member's error: say which alternatives were tried
            kinds = sorted({str(e["loc"][len(loc) - len(rest)]) for e in errors if len(e["loc"])})
            if len(kinds) > 1:
                reason = f"{reason} (tried {', '.join(kinds)})"
    more = len({tuple(e["loc"]) for e in errors}) - 1
    if more > 0:
        reason += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputError(path or "protocol", reason)


def _relabel(prefix: str, exc: InputError) -> InputError:
    field = exc.field
    if field.startswith(prefix) or not prefix:
        return InputError(field, exc.reason)
    return InputError(f"{prefix}.{field}" if field else prefix, exc.reason)


# ------------------------------------------------------------------------ building blocks
def _doses(pf: ProtocolFile) -> tuple[DoseLevel, ...]:
    out: list[DoseLevel] = []
    seen: dict[str, int] = {}
    for i, d in enumerate(pf.doses):
        if d.label in seen:
            raise InputError(
                f"doses[{i}].label", f"label {d.label!r} is already used by doses[{seen[d.label]}]"
            )
        seen[d.label] = i
        a = d.amount
        try:
            amount = Amount(
                DoseUnit(a.unit) if a.unit is not None else None,
                value=a.value,
                placeholder=a.placeholder,
                low=a.low,
                high=a.high,
            )
            out.append(
                DoseLevel(
                    d.label,
                    amount,
                    role=d.role,
                    source_text=d.source_text,
                    needs_review=d.needs_review,
                    review_note=d.review_note,
                )
            )
        except InputError as exc:
            raise InputError(f"doses[{i}].{exc.field.split('.')[-1]}", exc.reason) from None
    return tuple(out)


def _lymphodepletion(pf: ProtocolFile) -> LymphodepletionRegimen | None:
    ld = pf.lymphodepletion
    if ld is None:
        return None
    agents = []
    for i, a in enumerate(ld.agents):
        try:
            agents.append(
                LymphodepletionAgent(a.name, a.low, a.high, DoseUnit(a.unit), tuple(a.days))
            )
        except InputError as exc:
            field = exc.field.split(".", 1)[-1] if "." in exc.field else exc.field
            raise InputError(f"lymphodepletion.agents[{i}].{field}", exc.reason) from None
    try:
        return LymphodepletionRegimen(tuple(agents), ld.source_text)
    except InputError as exc:
        raise InputError(exc.field, exc.reason) from None


def _level(value: str | int, labels: tuple[str, ...], field: str) -> int:
    """A dose given as a label (or a 1-based level) -> 1-based level."""
    if isinstance(value, int):
        if not 1 <= value <= len(labels):
            raise InputError(field, f"dose level {value} is outside 1..{len(labels)}")
        return value
    if value in labels:
        return labels.index(value) + 1
    raise InputError(field, f"unknown dose label {value!r}; known: {', '.join(labels)}")


def _design(pf: ProtocolFile, labels: tuple[str, ...]) -> Design:
    data = dict(pf.design)
    J = len(labels)
    if "num_doses" in data and data["num_doses"] != J:
        raise InputError(
            "design.num_doses", f"is {data['num_doses']!r} but the protocol has {J} doses"
        )
    data["num_doses"] = J
    if "start_dose" in data:
        sd = data["start_dose"]
        if isinstance(sd, bool) or not isinstance(sd, str | int):
            raise InputError("design.start_dose", "must be a dose label or a level number")
        data["start_dose"] = _level(sd, labels, "design.start_dose")
    # a time-to-event design takes its windows from the protocol's windows (the registry
    # says which designs and which windows); a missing or unknown design is reported below
    cls = DESIGNS.get(str(data.get("design", "")).strip().lower())
    if cls is not None and cls.time_to_event:
        name = cls.name
        for key, source in _TITE_WINDOWS.items():
            if key not in design_parameters(cls):
                continue
            if key in data:
                raise InputError(
                    f"design.{key}", f"set the window once, in {source} (not in design)"
                )
            value = pf.windows.dlt_days if key == "tox_window" else pf.windows.efficacy_days
            if value is None:
                raise InputError(source, f"required by the {name} design")
            data[key] = value
    try:
        return design_from_dict(data)
    except InputError as exc:
        raise _relabel("design", exc) from None


def _fallback(model: FallbackModel, labels: tuple[str, ...]) -> BackupFallback:
    try:
        return BackupFallback(
            run_in_dose=_level(model.run_in_dose, labels, "rules.fallback.run_in_dose"),
            backup_dose=_level(model.backup_dose, labels, "rules.fallback.backup_dose"),
            first_k=model.first_k,
            min_dlts=model.min_dlts,
            zero_dlt_branch=model.zero_dlt_branch,
            reescalation=model.reescalation,
        )
    except InputError as exc:
        raise _relabel("rules", exc) from None


def _backfill(
    model: BackfillModel, labels: tuple[str, ...], indication_ids: tuple[str, ...]
) -> BackfillRule | None:
    """``rules.backfill`` -> :class:`BackfillRule` (``None`` when ``enabled: false``)."""
    if not model.enabled:
        return None
    where = "rules.backfill"
    for i, name in enumerate(model.indications):
        if name not in indication_ids:
            known = ", ".join(indication_ids) or "none"
            raise InputError(
                f"{where}.indications[{i}]", f"unknown indication {name!r}; known: {known}"
            )
    min_dose = 1 if model.min_dose is None else _level(model.min_dose, labels, f"{where}.min_dose")
    try:
        return BackfillRule(
            n_cap=model.n_cap,
            cap_rule=model.cap_rule,
            assign=model.assign,
            activity=model.activity,
            min_dose=min_dose,
            indications=tuple(model.indications),
            three_plus_three=model.three_plus_three,
        )
    except InputError as exc:
        raise _relabel(where, exc) from None


def _timing(t: TimingModel, where: str) -> TimingRule:
    try:
        if t.days is not None:
            return AtDays(tuple(t.days))
        if t.every_days is not None:
            assert t.from_day is not None and t.to_day is not None
            return EveryDays(t.every_days, t.from_day, t.to_day)
        if t.months is not None:
            return AtMonths(tuple(t.months))
        assert t.every_months is not None and t.from_month is not None
        assert t.to_month is not None
        return EveryMonths(t.from_month, t.to_month, t.every_months)
    except InputError as exc:
        field = _TIMING_KEYS.get(exc.field, exc.field)
        if field == "every":
            field = "every_days" if t.every_days is not None else "every_months"
        raise InputError(f"{where}.{field}", exc.reason) from None


#: core field names -> protocol file keys
_TIMING_KEYS = {
    "start_day": "from_day",
    "end_day": "to_day",
    "start_month": "from_month",
    "end_month": "to_month",
}


def _schedule(sm: ScheduleModel) -> VisitSchedule:
    assessments = []
    for i, a in enumerate(sm.assessments):
        where = f"schedule.assessments[{i}]"
        rules = tuple(_timing(t, f"{where}.timing[{j}]") for j, t in enumerate(a.timing))
        before = a.window_days if a.window_days is not None else (a.window_before or 0)
        after = a.window_days if a.window_days is not None else (a.window_after or 0)
        try:
            assessments.append(
                Assessment(a.name, rules, a.description, before, after, a.source_text)
            )
        except InputError as exc:
            raise InputError(where, exc.reason) from None
    try:
        return VisitSchedule(tuple(assessments), sm.month_length, sm.follow_up_months)
    except InputError as exc:
        raise InputError(exc.field, exc.reason) from None


def _check_logic(criteria: list[Criterion], indication_ids: tuple[str, ...]) -> None:
    """Cross-criterion checks of the logic: references to criteria and indications exist,
    criterion references form no cycle, ``review`` nodes only in criteria flagged
    ``needs_review``, attestation items unique within a criterion."""
    index = {c.id: i for i, c in enumerate(criteria)}
    refs: dict[str, list[str]] = {}
    for i, c in enumerate(criteria):
        where = f"criteria[{i}].logic"
        if c.logic is None:
            continue
        items: set[str] = set()
        for node in walk(c.logic):
            if isinstance(node, CriterionRef):
                if node.criterion_id not in index:
                    raise InputError(where, f"refers to unknown criterion {node.criterion_id!r}")
                if node.criterion_id == c.id:
                    raise InputError(where, "a criterion cannot refer to itself")
                refs.setdefault(c.id, []).append(node.criterion_id)
            elif isinstance(node, IndicationIs):
                for ind in node.ids:
                    if ind not in indication_ids:
                        raise InputError(
                            where,
                            f"unknown indication {ind!r}; known: {', '.join(indication_ids)}",
                        )
            elif isinstance(node, Review) and not c.needs_review:
                raise InputError(
                    where, "has a review node: set needs_review: true with a review_note"
                )
            elif isinstance(node, Attest) and node.item is not None:
                if node.item in items:
                    raise InputError(where, f"attestation item {node.item!r} is used twice")
                items.add(node.item)

    state: dict[str, int] = {}

    def visit(cid: str) -> None:
        if state.get(cid) == 2:
            return
        if state.get(cid) == 1:
            raise InputError(f"criteria[{index[cid]}].logic", "criterion references form a cycle")
        state[cid] = 1
        for nxt in refs.get(cid, []):
            visit(nxt)
        state[cid] = 2

    for cid in refs:
        visit(cid)


def _n(x: float | None) -> float | int | None:
    """An integral day count as an int (so the protocol text reads 'day 28', not '28.0')."""
    return int(x) if x is not None and float(x).is_integer() else x


def _dlt_terms(terms: list[str], where: str) -> frozenset[str]:
    return frozenset(canonical_term(t, f"{where}[{j}]") for j, t in enumerate(terms))


def _dlt_exclusion(m: DLTExclusionModel, where: str) -> DLTExclusion:
    terms = _dlt_terms(m.terms, f"{where}.terms")
    try:
        return DLTExclusion(
            m.id,
            terms,
            m.max_grade,
            _n(m.onset_before_day),
            _n(m.duration_less_than_days),
            m.description,
        )
    except InputError as exc:
        raise InputError(f"{where}.{exc.field.rsplit('.', 1)[-1]}", exc.reason) from None


def _dlt(m: DLTModel | None, window_days: int, name: str) -> DLTDefinition | None:
    if m is None:
        return None
    rules = []
    seen: dict[str, int] = {}
    for i, r in enumerate(m.rules):
        where = f"dlt.rules[{i}]"
        if r.id in seen:
            raise InputError(f"{where}.id", f"{r.id!r} is already used by dlt.rules[{seen[r.id]}]")
        seen[r.id] = i
        terms = _dlt_terms(r.terms, f"{where}.terms")
        exclude = _dlt_terms(r.exclude_terms, f"{where}.exclude_terms")
        exclusions = tuple(
            _dlt_exclusion(e, f"{where}.exclusions[{j}]") for j, e in enumerate(r.exclusions)
        )
        try:
            rules.append(
                DLTRule(
                    r.id,
                    r.min_grade,
                    terms,
                    exclude,
                    _n(r.duration_days),
                    r.duration_comparator,
                    None
                    if r.attribution is None
                    else frozenset(Attribution(a) for a in r.attribution),
                    _n(r.window_days),
                    exclusions,
                    r.description,
                    _n(r.persists_beyond_day),
                )
            )
        except InputError as exc:
            raise InputError(f"{where}.{exc.field.rsplit('.', 1)[-1]}", exc.reason) from None
    exclusions = tuple(
        _dlt_exclusion(e, f"dlt.exclusions[{j}]") for j, e in enumerate(m.exclusions)
    )
    try:
        return DLTDefinition(
            tuple(rules),
            window_days,
            frozenset(Attribution(a) for a in m.attribution),
            exclusions,
            name,
        )
    except InputError as exc:
        raise _relabel("dlt", exc) from None


def _response(
    models: list[ResponseModel], indication_ids: tuple[str, ...], efficacy_days: int | None
) -> tuple[ResponseDefinition, ...]:
    out: list[ResponseDefinition] = []
    seen: dict[str, int] = {}
    for i, m in enumerate(models):
        where = f"response[{i}]"
        if m.indication not in indication_ids:
            raise InputError(
                f"{where}.indication",
                f"unknown indication {m.indication!r}; known: {', '.join(indication_ids)}",
            )
        if m.indication in seen:
            raise InputError(
                f"{where}.indication",
                f"{m.indication!r} already has a response definition "
                f"(response[{seen[m.indication]}])",
            )
        seen[m.indication] = i
        day = _n(m.day)
        if m.timing == "by_day" and efficacy_days is not None:
            if day is not None:
                raise InputError(
                    f"{where}.day", "set the efficacy window once, in windows.efficacy_days"
                )
            day = efficacy_days
        if day is None:
            raise InputError(
                f"{where}.day",
                "required key is missing"
                + (" (or set windows.efficacy_days)" if m.timing == "by_day" else ""),
            )
        try:
            out.append(
                ResponseDefinition(
                    m.indication,
                    m.criterion,
                    m.timing,
                    day,
                    _n(m.window_before) or 0,
                    _n(m.window_after) or 0,
                    frozenset(m.responder_values),
                    m.params,
                    m.description,
                    m.needs_review,
                    m.review_note,
                )
            )
        except InputError as exc:
            raise InputError(f"{where}.{exc.field}", exc.reason) from None
    return tuple(out)


def _dump(model: BaseModel | None) -> dict[str, Any]:
    return model.model_dump() if model is not None else {}


# ---------------------------------------------------------------------------- public API
def protocol_from_dict(data: dict[str, Any], *, source: str | None = None) -> Protocol:
    """Validate a protocol mapping (as read from a file) and build the :class:`Protocol`."""
    if not isinstance(data, dict):
        raise InputError("protocol", "must be a mapping of keys to values")
    if "schema_version" not in data:
        raise InputError(
            "schema_version", f"missing; add 'schema_version: {SCHEMA_VERSION}' at the top"
        )
    version = data["schema_version"]
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise InputError(
            "schema_version",
            f"unsupported version {version!r}; this doseladder reads version {SCHEMA_VERSION}",
        )
    try:
        pf = ProtocolFile.model_validate(data)
    except ValidationError as exc:
        raise validation_error_to_input_error(exc) from None

    doses = _doses(pf)
    labels = tuple(d.label for d in doses)
    lymph = _lymphodepletion(pf)
    design = _design(pf, labels)

    # indications
    ids: dict[str, int] = {}
    for i, ind in enumerate(pf.indications):
        if ind.id in ids:
            raise InputError(
                f"indications[{i}].id", f"{ind.id!r} is already used by indications[{ids[ind.id]}]"
            )
        ids[ind.id] = i
    driving = [ind for ind in pf.indications if ind.driving]
    if len(driving) > 1:
        second = next(
            i for i, ind in enumerate(pf.indications) if ind.driving and ind is driving[1]
        )
        raise InputError(
            f"indications[{second}].driving",
            f"only one driving indication is allowed ({driving[0].id!r} is already driving)",
        )
    indications = tuple(Indication(i.id, i.name, i.driving, i.source_text) for i in pf.indications)
    driving_id = driving[0].id if driving else None

    # rules
    rules = pf.rules
    fallback = _fallback(rules.fallback, labels) if rules.fallback is not None else None
    if rules.other_indications is not None and driving_id is None:
        raise InputError(
            "rules.other_indications", "only applies when one indication has 'driving: true'"
        )
    other = (
        OtherIndicationPolicy(**rules.other_indications.model_dump())
        if rules.other_indications is not None
        else OtherIndicationPolicy()
    )
    monitor = None
    if rules.safety_monitor is not None:
        sm = rules.safety_monitor.model_dump()
        if sm["target"] is None:
            target = getattr(design, "phi_t", None) or getattr(design, "target", None)
            if not isinstance(target, float):
                raise InputError(
                    "rules.safety_monitor.target", "give a target (the design has none)"
                )
            sm["target"] = target
        try:
            monitor = PooledSafetyMonitor(**sm)
        except InputError as exc:
            raise _relabel("rules", exc) from None
    stagger = (
        SentinelStaggering(**rules.staggering.model_dump())
        if rules.staggering is not None
        else None
    )
    backfill = _backfill(rules.backfill, labels, tuple(ids)) if rules.backfill is not None else None
    if backfill is not None:
        try:
            backfill.check_plan(design, len(labels), tuple(ids), driving_id)
        except InputError as exc:
            f = exc.field
            raise InputError(
                f if f.startswith("design.") else f"rules.backfill.{f}", exc.reason
            ) from None
        if rules.staggering is not None:
            raise InputError(
                "rules.backfill", "backfill cannot be combined with sentinel staggering"
            )
    try:
        plan = EscalationPlan(
            design,
            labels,
            indications=tuple(i.id for i in indications),
            driving_indication=driving_id,
            fallback=fallback,
            other_indications=other,
            safety_monitor=monitor,
            staggering=stagger,
            complete_cohorts=rules.complete_cohorts,
            max_total=rules.max_total,
            backfill=backfill,
        )
    except InputError as exc:
        raise _relabel("rules", exc) from None

    # criteria
    criteria: list[Criterion] = []
    seen: dict[str, int] = {}
    for i, c in enumerate(pf.criteria):
        if c.id in seen:
            raise InputError(
                f"criteria[{i}].id", f"{c.id!r} is already used by criteria[{seen[c.id]}]"
            )
        seen[c.id] = i
        for j, name in enumerate(c.indications):
            if name not in ids:
                raise InputError(
                    f"criteria[{i}].indications[{j}]",
                    f"unknown indication {name!r}; known: {', '.join(ids)}",
                )
        logic = parse_logic(c.logic, f"criteria[{i}].logic") if c.logic is not None else None
        criteria.append(
            Criterion(
                c.id,
                c.category,
                c.source_text,
                tuple(c.indications),
                c.needs_review,
                c.review_note,
                logic,
                c.attests,
            )
        )
    _check_logic(criteria, tuple(ids))

    review_ids: dict[str, int] = {}
    for i, r in enumerate(pf.review):
        if r.id in review_ids:
            raise InputError(
                f"review[{i}].id", f"{r.id!r} is already used by review[{review_ids[r.id]}]"
            )
        review_ids[r.id] = i

    w = pf.windows
    dlt = _dlt(pf.dlt, w.dlt_days, pf.id)
    response = _response(pf.response, tuple(ids), w.efficacy_days)
    return Protocol(
        id=pf.id,
        schema_version=pf.schema_version,
        provenance=_dump(pf.provenance),
        identifiers=_dump(pf.identifiers),
        population=_dump(pf.population),
        product=_dump(pf.product) if pf.product is not None else None,
        doses=doses,
        lymphodepletion=lymph,
        plan=plan,
        windows=AssessmentWindows(
            w.dlt_days, w.efficacy_days, w.needs_review, w.review_note, w.source_text
        ),
        indications=indications,
        criteria=tuple(criteria),
        schedule=_schedule(pf.schedule),
        schedule_review=pf.schedule.review_note if pf.schedule.needs_review else None,
        review=tuple(ReviewItem(r.id, r.about, r.note, r.source_text) for r in pf.review),
        notes=pf.notes,
        source=source,
        dlt=dlt,
        dlt_review=pf.dlt.review_note if pf.dlt is not None and pf.dlt.needs_review else None,
        dlt_source_text=pf.dlt.source_text if pf.dlt is not None else None,
        response=response,
    )


def load_protocol(path: str | Path) -> Protocol:
    """Read and validate a protocol file (YAML or JSON).

    Errors name the file and the dotted path: ``my.yaml: doses[2].amount.unit: unknown unit``.
    """
    p = Path(path)
    data = load_mapping(p, "protocol file")
    try:
        return protocol_from_dict(data, source=str(p))
    except InputError as exc:
        raise InputError(f"{p.name}: {exc.field}", exc.reason) from None
