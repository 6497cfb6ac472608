"""Parse a criterion's ``logic`` mapping (protocol YAML / JSON) into :mod:`.logic` nodes.

Each node is a mapping with exactly one *kind* key plus that kind's options; unknown keys are
errors that list the allowed ones, and every error is an
:class:`~doseladder.core.errors.InputError` whose field is the dotted path of the bad key
(``criteria[4].logic.all_of[2].unit``).  Thresholds are read exactly (a YAML ``2.5`` is the
decimal 5/2, never a binary float).  The syntax is documented in ``docs/eligibility.md``::

    {all_of: [...]} | {any_of: [...]} | {not: {...}} | {at_least: 2, of: [...]}
    {age: ">=", years: 18}                       # at: consent (default screening)
    {sex: female} | {sex: [female, male]}
    {indication: [SLE-ITP, SLE-other]}          # the cohort screened for
    {criterion: 001-INC-25}                     # another criterion's status
    {measure: alt, op: "<=", uln: 2.5}          # or value: 1.5, unit: "10^9/L" | lln: 1
    {measure: urine_protein_24h, op: ">", value: 6, unit: g/24h, which: any, within: {weeks: 8}}
    {calc: crcl_cockcroft_gault, op: ">=", value: 50, unit: mL/min}
    {score: sledai_2k, op: ">=", value: 8}
    {sledai_total_and_clinical: {total_min: 6, clinical_min: 4}}
    {bilag_a_or_b: {min_a: 1, min_b: 2}}
    {classification: iim_2017, min_category: probable}
    {itp_platelet_entry: {below: 50, consecutive: 2}}
    {diagnosis: sle, since: {months: 6}}        # or within: {weeks: 8}
    {serology: ana, result: positive}           # min_titer: 80
    {received: {drugs: [belimumab], classes: [b_cell_depleting]}, within: {months: 1}}
    {event: [dialysis, plasma_exchange], within: {months: 3}}
    {glucocorticoid: "<=", mg_per_day: 30, routes: [oral]}
    {glucocorticoid: ">=", mg_per_day: 100, within: {weeks: 8}, for_days: 14}
    {attests: no_transfusion, text: "..."}      # attests: true = the whole criterion
    {review: "why", reading: {...}}             # never evaluated as written

Every leaf that looks at dated data takes an optional ``within: {days|weeks|months|years: N}``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction
from typing import Any, Literal, cast

from doseladder.core.clinical.units import Dimension, Quantity, parse_unit, to_fraction
from doseladder.core.eligibility.dates import WINDOW_UNITS, Window
from doseladder.core.eligibility.logic import (
    COMPARATORS,
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
)
from doseladder.core.eligibility.vocab import (
    CLASSIFICATIONS,
    CONDITIONS,
    DRUG_CLASSES,
    DRUGS,
    EVENT_KINDS,
    MEASURES,
    SCORES,
    SEROLOGY_TESTS,
    measure_key,
    normalise_route,
    serology_key,
)
from doseladder.core.errors import InputError

__all__ = ["KINDS", "parse_logic", "parse_window"]

_WITHIN = ("within",)
_OPTIONS: dict[str, tuple[str, ...]] = {
    "all_of": (),
    "any_of": (),
    "not": (),
    "at_least": ("of",),
    "age": ("years", "at"),
    "sex": (),
    "indication": (),
    "criterion": (),
    "measure": ("op", "value", "unit", "uln", "lln", "which", *_WITHIN),
    "calc": ("op", "value", "unit", *_WITHIN),
    "score": ("op", "value", *_WITHIN),
    "sledai_total_and_clinical": _WITHIN,
    "bilag_a_or_b": _WITHIN,
    "classification": ("min_category",),
    "itp_platelet_entry": _WITHIN,
    "diagnosis": ("since", *_WITHIN),
    "serology": ("result", "min_titer", *_WITHIN),
    "received": ("routes", *_WITHIN),
    "event": _WITHIN,
    "glucocorticoid": ("mg_per_day", "mg_per_kg_per_day", "routes", "for_days", *_WITHIN),
    "attests": ("text",),
    "review": ("reading",),
}
KINDS: tuple[str, ...] = tuple(_OPTIONS)
"""The node kinds (the one key that names a node)."""

_CALC_DIMENSION: dict[str, Dimension] = {
    "crcl_cockcroft_gault": Dimension.CLEARANCE,
    "egfr": Dimension.GFR,
}


def _p(path: str, key: str | int) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else key


def _str(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(path, f"must be a non-empty text, got {value!r}")
    return value.strip()


def _int(value: Any, path: str, lo: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise InputError(path, f"must be an integer ≥ {lo}, got {value!r}")
    return value


def _num(value: Any, path: str) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InputError(path, f"must be a number, got {value!r}")
    v = to_fraction(value, path)
    if v < 0:
        raise InputError(path, f"must not be negative, got {value!r}")
    return v


def _op(value: Any, path: str) -> Comparator:
    if value not in COMPARATORS:
        raise InputError(path, f"must be one of {', '.join(COMPARATORS)}, got {value!r}")
    return cast(Comparator, value)


def _list_of_str(value: Any, path: str, known: Mapping[str, Any] | None, what: str) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise InputError(path, f"must be a {what} or a non-empty list of them")
    out = []
    for i, item in enumerate(items):
        s = _str(item, _p(path, i))
        if known is not None and s not in known:
            raise InputError(_p(path, i), f"unknown {what} {s!r}; known: {', '.join(known)}")
        out.append(s)
    return out


def _known(value: Any, path: str, known: Mapping[str, Any], what: str) -> str:
    s = _str(value, path)
    if s not in known:
        raise InputError(path, f"unknown {what} {s!r}; known: {', '.join(known)}")
    return s


def parse_window(value: Any, path: str) -> Window:
    """``{days|weeks|months|years: N}`` → :class:`Window`."""
    if not isinstance(value, Mapping) or len(value) != 1:
        raise InputError(path, "must be a mapping with one of days, weeks, months, years")
    ((unit, amount),) = value.items()
    if unit not in WINDOW_UNITS:
        raise InputError(_p(path, str(unit)), f"unknown unit; use one of {', '.join(WINDOW_UNITS)}")
    return Window(_int(amount, _p(path, unit)), unit)


def _within(data: Mapping[str, Any], path: str) -> Window | None:
    return parse_window(data["within"], _p(path, "within")) if "within" in data else None


def _children(value: Any, path: str) -> tuple[Node, ...]:
    if not isinstance(value, list) or not value:
        raise InputError(path, "must be a non-empty list of nodes")
    return tuple(parse_logic(v, _p(path, i)) for i, v in enumerate(value))


def _mapping(value: Any, path: str, allowed: Sequence[str]) -> Mapping[str, Any]:
    if value is None or value is True:
        return {}
    if not isinstance(value, Mapping):
        raise InputError(path, f"must be a mapping with keys {', '.join(allowed)}")
    for k in value:
        if k not in allowed:
            raise InputError(_p(path, str(k)), f"unknown key; allowed: {', '.join(allowed)}")
    return value


# ------------------------------------------------------------------------------- the kinds
def _age(d: Mapping[str, Any], path: str) -> Node:
    op = _op(d["age"], _p(path, "age"))
    if "years" not in d:
        raise InputError(_p(path, "years"), "required key is missing")
    at = d.get("at", "screening")
    if at not in ("screening", "consent"):
        raise InputError(_p(path, "at"), f"must be 'screening' or 'consent', got {at!r}")
    return Age(op, _int(d["years"], _p(path, "years")), at)


def _sex(d: Mapping[str, Any], path: str) -> Node:
    sexes = _list_of_str(d["sex"], _p(path, "sex"), {"female": 1, "male": 1}, "sex")
    return SexIs(frozenset(sexes))


def _measure(d: Mapping[str, Any], path: str) -> Node:
    key = measure_key(_str(d["measure"], _p(path, "measure"))) or _known(
        d["measure"], _p(path, "measure"), MEASURES, "measure"
    )
    if "op" not in d:
        raise InputError(_p(path, "op"), "required key is missing")
    op = _op(d["op"], _p(path, "op"))
    forms = [k for k in ("value", "uln", "lln") if k in d]
    if len(forms) != 1:
        raise InputError(path, "give exactly one of value (with unit), uln or lln")
    value: Quantity | None = None
    uln = lln = None
    if "value" in d:
        if "unit" not in d:
            raise InputError(_p(path, "unit"), "a value needs its unit (never assumed)")
        unit = parse_unit(
            _str(d["unit"], _p(path, "unit")), MEASURES[key].dimension, _p(path, "unit")
        )
        value = Quantity(_num(d["value"], _p(path, "value")), unit)
    elif "unit" in d:
        raise InputError(_p(path, "unit"), "only goes with value (a ULN/LLN multiple has none)")
    elif "uln" in d:
        uln = _num(d["uln"], _p(path, "uln"))
    else:
        lln = _num(d["lln"], _p(path, "lln"))
    which = d.get("which", "latest")
    if which not in ("latest", "any"):
        raise InputError(_p(path, "which"), f"must be 'latest' or 'any', got {which!r}")
    within = _within(d, path)
    if which == "any" and within is None:
        raise InputError(_p(path, "which"), "'any' needs a within window")
    return MeasureCmp(key, op, value, uln, lln, within, which)


def _calc(d: Mapping[str, Any], path: str) -> Node:
    name = _known(d["calc"], _p(path, "calc"), _CALC_DIMENSION, "calculation")
    for k in ("op", "value", "unit"):
        if k not in d:
            raise InputError(_p(path, k), "required key is missing")
    unit = parse_unit(_str(d["unit"], _p(path, "unit")), _CALC_DIMENSION[name], _p(path, "unit"))
    return CalcCmp(
        cast(Literal["crcl_cockcroft_gault", "egfr"], name),
        _op(d["op"], _p(path, "op")),
        Quantity(_num(d["value"], _p(path, "value")), unit),
        _within(d, path),
    )


def _score(d: Mapping[str, Any], path: str) -> Node:
    name = _known(d["score"], _p(path, "score"), SCORES, "score")
    for k in ("op", "value"):
        if k not in d:
            raise InputError(_p(path, k), "required key is missing")
    value = _num(d["value"], _p(path, "value"))
    inst = SCORES[name]
    if not inst.low <= value <= inst.high:
        raise InputError(
            _p(path, "value"), f"outside the {inst.label} range {inst.low}–{inst.high}"
        )
    return ScoreCmp(name, _op(d["op"], _p(path, "op")), value, _within(d, path))


def _sledai_rule(d: Mapping[str, Any], path: str) -> Node:
    p = _p(path, "sledai_total_and_clinical")
    m = _mapping(d["sledai_total_and_clinical"], p, ("total_min", "clinical_min"))
    total = _int(m.get("total_min", 6), _p(p, "total_min"))
    clinical = _int(m.get("clinical_min", 4), _p(p, "clinical_min"))
    if clinical > total:
        raise InputError(_p(p, "clinical_min"), "must not exceed total_min")
    return SledaiTotalClinical(total, clinical, _within(d, path))


def _bilag(d: Mapping[str, Any], path: str) -> Node:
    p = _p(path, "bilag_a_or_b")
    m = _mapping(d["bilag_a_or_b"], p, ("min_a", "min_b", "scheme"))
    scheme = m.get("scheme", "BILAG-2004")
    if scheme not in ("BILAG-2004", "Classic BILAG", "Classic BILAG (Cresswell 2009)"):
        raise InputError(_p(p, "scheme"), f"unknown BILAG scheme {scheme!r}")
    return BilagAOrB(
        _int(m.get("min_a", 1), _p(p, "min_a"), 1),
        _int(m.get("min_b", 2), _p(p, "min_b"), 1),
        scheme,
        _within(d, path),
    )


def _classification(d: Mapping[str, Any], path: str) -> Node:
    name = _known(
        d["classification"], _p(path, "classification"), CLASSIFICATIONS, "classification"
    )
    at_least = d.get("min_category")
    if at_least is not None:
        if name != "iim_2017":
            raise InputError(_p(path, "min_category"), "only applies to iim_2017")
        if at_least not in ("probable", "definite"):
            raise InputError(_p(path, "min_category"), "must be 'probable' or 'definite'")
    elif name == "iim_2017":
        at_least = "probable"
    return ClassificationIs(name, cast(Literal["probable", "definite"] | None, at_least))


def _itp(d: Mapping[str, Any], path: str) -> Node:
    p = _p(path, "itp_platelet_entry")
    m = _mapping(d["itp_platelet_entry"], p, ("below", "consecutive"))
    below = _num(m.get("below", 50), _p(p, "below"))
    return ItpEntry(below, _int(m.get("consecutive", 2), _p(p, "consecutive"), 1), _within(d, path))


def _diagnosis(d: Mapping[str, Any], path: str) -> Node:
    name = _known(d["diagnosis"], _p(path, "diagnosis"), CONDITIONS, "condition")
    since = parse_window(d["since"], _p(path, "since")) if "since" in d else None
    return DiagnosisOf(name, since, _within(d, path))


def _serology(d: Mapping[str, Any], path: str) -> Node:
    test = serology_key(_str(d["serology"], _p(path, "serology"))) or _known(
        d["serology"], _p(path, "serology"), SEROLOGY_TESTS, "serology test"
    )
    result = d.get("result", "positive")
    if result not in ("positive", "negative"):
        raise InputError(_p(path, "result"), f"must be 'positive' or 'negative', got {result!r}")
    titer = _int(d["min_titer"], _p(path, "min_titer"), 1) if "min_titer" in d else None
    return SerologyIs(test, result, titer, _within(d, path))


def _routes(d: Mapping[str, Any], path: str) -> frozenset[str] | None:
    if "routes" not in d:
        return None
    return frozenset(
        normalise_route(r) for r in _list_of_str(d["routes"], _p(path, "routes"), None, "route")
    )


def _received(d: Mapping[str, Any], path: str) -> Node:
    p = _p(path, "received")
    m = _mapping(d["received"], p, ("drugs", "classes"))
    drugs = _list_of_str(m["drugs"], _p(p, "drugs"), DRUGS, "drug") if "drugs" in m else []
    classes = (
        _list_of_str(m["classes"], _p(p, "classes"), DRUG_CLASSES, "drug class")
        if "classes" in m
        else []
    )
    if not drugs and not classes:
        raise InputError(p, "give drugs and/or classes")
    return Received(frozenset(drugs), frozenset(classes), _within(d, path), _routes(d, path))


def _event(d: Mapping[str, Any], path: str) -> Node:
    kinds = _list_of_str(d["event"], _p(path, "event"), EVENT_KINDS, "event kind")
    return EventOf(frozenset(kinds), _within(d, path))


def _glucocorticoid(d: Mapping[str, Any], path: str) -> Node:
    op = _op(d["glucocorticoid"], _p(path, "glucocorticoid"))
    forms = [k for k in ("mg_per_day", "mg_per_kg_per_day") if k in d]
    if len(forms) != 1:
        raise InputError(path, "give exactly one of mg_per_day, mg_per_kg_per_day")
    per_day = _num(d["mg_per_day"], _p(path, "mg_per_day")) if "mg_per_day" in d else None
    per_kg = (
        _num(d["mg_per_kg_per_day"], _p(path, "mg_per_kg_per_day"))
        if "mg_per_kg_per_day" in d
        else None
    )
    within = _within(d, path)
    for_days = _int(d.get("for_days", 1), _p(path, "for_days"), 1)
    if for_days > 1 and within is None:
        raise InputError(_p(path, "for_days"), "needs a within window")
    return Glucocorticoid(op, per_day, per_kg, _routes(d, path), within, for_days)


def _attests(d: Mapping[str, Any], path: str) -> Node:
    raw = d["attests"]
    text = _str(d["text"], _p(path, "text")) if "text" in d else ""
    if raw is True:
        return Attest(None, text)
    item = _str(raw, _p(path, "attests"))
    if "#" in item or any(c.isspace() for c in item):
        raise InputError(_p(path, "attests"), "an item name has no spaces and no '#'")
    return Attest(item, text)


def _review(d: Mapping[str, Any], path: str) -> Node:
    note = _str(d["review"], _p(path, "review"))
    reading = parse_logic(d["reading"], _p(path, "reading")) if "reading" in d else None
    return Review(note, reading)


def _combo(kind: str) -> Callable[[Mapping[str, Any], str], Node]:
    def build(d: Mapping[str, Any], path: str) -> Node:
        children = _children(d[kind], _p(path, kind))
        return AllOf(children) if kind == "all_of" else AnyOf(children)

    return build


def _not(d: Mapping[str, Any], path: str) -> Node:
    return Not(parse_logic(d["not"], _p(path, "not")))


def _at_least(d: Mapping[str, Any], path: str) -> Node:
    if "of" not in d:
        raise InputError(_p(path, "of"), "required key is missing")
    children = _children(d["of"], _p(path, "of"))
    n = _int(d["at_least"], _p(path, "at_least"), 1)
    if n > len(children):
        raise InputError(_p(path, "at_least"), f"{n} exceeds the {len(children)} items listed")
    return AtLeast(n, children)


_BUILDERS: dict[str, Callable[[Mapping[str, Any], str], Node]] = {
    "all_of": _combo("all_of"),
    "any_of": _combo("any_of"),
    "not": _not,
    "at_least": _at_least,
    "age": _age,
    "sex": _sex,
    "indication": lambda d, p: IndicationIs(
        tuple(_list_of_str(d["indication"], _p(p, "indication"), None, "indication id"))
    ),
    "criterion": lambda d, p: CriterionRef(_str(d["criterion"], _p(p, "criterion"))),
    "measure": _measure,
    "calc": _calc,
    "score": _score,
    "sledai_total_and_clinical": _sledai_rule,
    "bilag_a_or_b": _bilag,
    "classification": _classification,
    "itp_platelet_entry": _itp,
    "diagnosis": _diagnosis,
    "serology": _serology,
    "received": _received,
    "event": _event,
    "glucocorticoid": _glucocorticoid,
    "attests": _attests,
    "review": _review,
}


def parse_logic(data: Any, path: str = "logic") -> Node:
    """Parse one logic node (recursively).

    Raises:
        InputError: naming the dotted path of the first bad key.
    """
    if not isinstance(data, Mapping):
        raise InputError(path, f"must be a mapping with one of the keys {', '.join(KINDS)}")
    kinds = [k for k in data if k in _OPTIONS]
    if len(kinds) != 1:
        found = f" (found {', '.join(map(str, kinds))})" if kinds else ""
        raise InputError(path, f"give exactly one of the keys {', '.join(KINDS)}{found}")
    kind = kinds[0]
    allowed = (kind, *_OPTIONS[kind])
    for k in data:
        if k not in allowed:
            raise InputError(
                _p(path, str(k)), f"unknown key for a {kind} node; allowed: {', '.join(allowed)}"
            )
    return _BUILDERS[kind](data, path)
