"""The criterion logic model: frozen nodes combined with ``all_of`` / ``any_of`` / ``not`` /
``at_least``.

Representation after spec ``clinical.md`` §5.6 (a tree per criterion, three-valued results)
and §4.15 (every direct comparison is ``{measure, comparator, value, unit | ×ULN | ×LLN,
look-back}``).  The YAML syntax (``criteria[i].logic`` in a protocol file) is parsed by
:mod:`doseladder.core.eligibility.parse` and documented in ``docs/eligibility.md``.  Leaves:

* :class:`Age`, :class:`SexIs`, :class:`IndicationIs` — demographics and the cohort;
* :class:`MeasureCmp` — a lab / vital / organ-function value against a threshold in units, or a
  multiple of the laboratory's ULN / LLN;
* :class:`CalcCmp` — a calculated value (Cockcroft–Gault CrCl, eGFR) via
  :mod:`doseladder.core.clinical.calculators`;
* :class:`ScoreCmp`, :class:`SledaiTotalClinical`, :class:`BilagAOrB`,
  :class:`ClassificationIs`, :class:`ItpEntry` — scores and classifications via the clinical
  modules;
* :class:`DiagnosisOf`, :class:`SerologyIs`, :class:`Received`, :class:`EventOf`,
  :class:`Glucocorticoid` — history, serology, prior therapies and washout windows;
* :class:`Attest` — an item the investigator attests (the text does not allow computation);
* :class:`Review` — a part of the text that is wrong in the source (spec §0.1): always
  ``needs_review``; its ``reading`` (the suggested reading) is evaluated for information only;
* :class:`CriterionRef` — the status of another criterion (headings "defined as:").
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

from doseladder.core.clinical.units import Quantity
from doseladder.core.eligibility.dates import Window
from doseladder.core.eligibility.vocab import (
    CLASSIFICATIONS,
    CONDITIONS,
    DRUG_CLASSES,
    EVENT_KINDS,
    MEASURES,
    SCORES,
    SEROLOGY_TESTS,
)

__all__ = [
    "COMPARATORS",
    "Age",
    "AllOf",
    "AnyOf",
    "AtLeast",
    "Attest",
    "BilagAOrB",
    "CalcCmp",
    "ClassificationIs",
    "Comparator",
    "CriterionRef",
    "DiagnosisOf",
    "EventOf",
    "Glucocorticoid",
    "IndicationIs",
    "ItpEntry",
    "MeasureCmp",
    "Node",
    "Not",
    "Received",
    "Review",
    "ScoreCmp",
    "SerologyIs",
    "SexIs",
    "SledaiTotalClinical",
    "compare_exact",
    "fmt_number",
    "walk",
]

Comparator = Literal["<", "<=", ">", ">=", "=="]
COMPARATORS: tuple[Comparator, ...] = ("<", "<=", ">", ">=", "==")
_SYM: dict[str, str] = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "="}


def compare_exact(a: Fraction, op: Comparator, b: Fraction) -> bool:
    """Exact ``a op b``."""
    if op == "<":
        return a < b
    if op == "<=":
        return a <= b
    if op == ">":
        return a > b
    if op == ">=":
        return a >= b
    return a == b


def fmt_number(v: Fraction) -> str:
    """Exact number for display (``2.5``, ``1/3`` shown as ``0.333333``)."""
    if v.denominator == 1:
        return str(v.numerator)
    f = float(v)
    return repr(f) if Fraction(repr(f)) == v else f"{f:.6g}"


def _within(w: Window | None, default: str = "") -> str:
    return f" within {w.describe()} before screening" if w is not None else default


def _win(w: Window | None) -> dict[str, Any] | None:
    return None if w is None else w.to_dict()


# ----------------------------------------------------------------------------- combinations
@dataclass(frozen=True, slots=True)
class AllOf:
    children: tuple[Node, ...]

    def describe(self) -> str:
        return "all of: " + "; ".join(c.describe() for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        return {"all_of": [c.to_dict() for c in self.children]}


@dataclass(frozen=True, slots=True)
class AnyOf:
    children: tuple[Node, ...]

    def describe(self) -> str:
        return "any of: " + "; ".join(c.describe() for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        return {"any_of": [c.to_dict() for c in self.children]}


@dataclass(frozen=True, slots=True)
class Not:
    child: Node

    def describe(self) -> str:
        return f"not ({self.child.describe()})"

    def to_dict(self) -> dict[str, Any]:
        return {"not": self.child.to_dict()}


@dataclass(frozen=True, slots=True)
class AtLeast:
    n: int
    children: tuple[Node, ...]

    def describe(self) -> str:
        return f"at least {self.n} of: " + "; ".join(c.describe() for c in self.children)

    def to_dict(self) -> dict[str, Any]:
        return {"at_least": self.n, "of": [c.to_dict() for c in self.children]}


# ------------------------------------------------------------------------------ demographics
@dataclass(frozen=True, slots=True)
class Age:
    """Age in completed years ``op years`` on the screening (or consent) date."""

    op: Comparator
    years: int
    at: Literal["screening", "consent"] = "screening"

    def describe(self) -> str:
        when = "at consent" if self.at == "consent" else "at screening"
        return f"age {_SYM[self.op]} {self.years} years {when}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"age": self.op, "years": self.years}
        if self.at != "screening":
            out["at"] = self.at
        return out


@dataclass(frozen=True, slots=True)
class SexIs:
    sexes: frozenset[str]

    def describe(self) -> str:
        return "sex " + " or ".join(sorted(self.sexes))

    def to_dict(self) -> dict[str, Any]:
        return {"sex": sorted(self.sexes)}


@dataclass(frozen=True, slots=True)
class IndicationIs:
    """The patient is screened for one of these protocol indications (cohorts)."""

    ids: tuple[str, ...]

    def describe(self) -> str:
        return "screened for " + " or ".join(self.ids)

    def to_dict(self) -> dict[str, Any]:
        return {"indication": list(self.ids)}


@dataclass(frozen=True, slots=True)
class CriterionRef:
    """The status of another criterion of the protocol (e.g. a heading "defined as:")."""

    criterion_id: str

    def describe(self) -> str:
        return f"criterion {self.criterion_id}"

    def to_dict(self) -> dict[str, Any]:
        return {"criterion": self.criterion_id}


# ---------------------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class MeasureCmp:
    """A value of ``measure`` in the look-back ``op`` a threshold: ``value`` (with its unit) or
    ``uln`` / ``lln`` × the laboratory's limit.  ``which="latest"`` (default) compares the
    latest value; ``which="any"`` asks whether any value in the window satisfies it (a history
    such as "proteinuria > 6 g/24 h within 8 weeks")."""

    measure: str
    op: Comparator
    value: Quantity | None = None
    uln: Fraction | None = None
    lln: Fraction | None = None
    within: Window | None = None
    which: Literal["latest", "any"] = "latest"

    def threshold_text(self) -> str:
        if self.value is not None:
            return str(self.value)
        if self.uln is not None:
            return f"{fmt_number(self.uln)} × ULN"
        assert self.lln is not None
        return f"{fmt_number(self.lln)} × LLN"

    def describe(self) -> str:
        label = MEASURES[self.measure].label if self.measure in MEASURES else self.measure
        pre = "any " if self.which == "any" else ""
        return f"{pre}{label} {_SYM[self.op]} {self.threshold_text()}" + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"measure": self.measure, "op": self.op}
        if self.value is not None:
            out["value"] = fmt_number(self.value.value)
            out["unit"] = self.value.unit.symbol
        if self.uln is not None:
            out["uln"] = fmt_number(self.uln)
        if self.lln is not None:
            out["lln"] = fmt_number(self.lln)
        if self.within is not None:
            out["within"] = _win(self.within)
        if self.which != "latest":
            out["which"] = self.which
        return out


CalcName = Literal["crcl_cockcroft_gault", "egfr"]


@dataclass(frozen=True, slots=True)
class CalcCmp:
    """A calculated value ``op value``: Cockcroft–Gault CrCl (mL/min) or eGFR (bedside
    Schwartz < 18 y, CKD-EPI 2021 ≥ 18 y; mL/min/1.73 m²)."""

    calc: CalcName
    op: Comparator
    value: Quantity
    within: Window | None = None

    def describe(self) -> str:
        name = {
            "crcl_cockcroft_gault": "creatinine clearance (Cockcroft–Gault)",
            "egfr": "eGFR (bedside Schwartz < 18 y, CKD-EPI 2021 ≥ 18 y)",
        }[self.calc]
        return f"{name} {_SYM[self.op]} {self.value}" + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "calc": self.calc,
            "op": self.op,
            "value": fmt_number(self.value.value),
            "unit": self.value.unit.symbol,
        }
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class ScoreCmp:
    """A score ``op value`` (SLEDAI variants computed from findings when given)."""

    instrument: str
    op: Comparator
    value: Fraction
    within: Window | None = None

    def describe(self) -> str:
        label = SCORES[self.instrument].label if self.instrument in SCORES else self.instrument
        return f"{label} {_SYM[self.op]} {fmt_number(self.value)}" + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "score": self.instrument,
            "op": self.op,
            "value": fmt_number(self.value),
        }
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class SledaiTotalClinical:
    """Seed 004: SLEDAI-2K ``≥ total_min`` and, if serology scored, clinical ``≥ clinical_min``
    (:func:`doseladder.core.clinical.sledai.sledai_total_and_clinical_at_least`)."""

    total_min: int
    clinical_min: int
    within: Window | None = None

    def describe(self) -> str:
        return (
            f"SLEDAI-2K ≥ {self.total_min} and, if low complement / anti-dsDNA scored, "
            f"clinical SLEDAI-2K ≥ {self.clinical_min}" + _within(self.within)
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "sledai_total_and_clinical": {
                "total_min": self.total_min,
                "clinical_min": self.clinical_min,
            }
        }
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class BilagAOrB:
    """At least ``min_a`` systems graded A or ``min_b`` graded B
    (:func:`doseladder.core.clinical.bilag.bilag_a_or_b_threshold`)."""

    min_a: int = 1
    min_b: int = 2
    scheme: str = "BILAG-2004"
    within: Window | None = None

    def describe(self) -> str:
        return f"{self.scheme}: ≥{self.min_a} system graded A or ≥{self.min_b} graded B" + _within(
            self.within
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "bilag_a_or_b": {"min_a": self.min_a, "min_b": self.min_b, "scheme": self.scheme}
        }
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class ClassificationIs:
    """Classified by a criteria set (:mod:`doseladder.core.clinical.classification`); for
    ``iim_2017`` the category must be at least ``at_least`` (probable = ≥55 %)."""

    name: str
    at_least: Literal["probable", "definite"] | None = None

    def describe(self) -> str:
        text = "classified by the " + CLASSIFICATIONS.get(self.name, self.name)
        if self.at_least is not None:
            text += f" (at least {self.at_least})"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"classification": self.name}
        if self.at_least is not None:
            out["min_category"] = self.at_least
        return out


@dataclass(frozen=True, slots=True)
class ItpEntry:
    """Seed 000 SLE-ITP entry: platelets ``< below`` ×10⁹/L in ``consecutive`` consecutive
    counts (:func:`doseladder.core.clinical.itp.sle_itp_platelet_entry`)."""

    below: Fraction = Fraction(50)
    consecutive: int = 2
    within: Window | None = None

    def describe(self) -> str:
        return (
            f"platelets < {fmt_number(self.below)}×10⁹/L in ≥{self.consecutive} consecutive "
            "counts" + _within(self.within)
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "itp_platelet_entry": {"below": fmt_number(self.below), "consecutive": self.consecutive}
        }
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


# ------------------------------------------------------------------------------ history
@dataclass(frozen=True, slots=True)
class DiagnosisOf:
    """A recorded diagnosis: optionally diagnosed at least ``since`` before screening, or
    present / diagnosed ``within`` the look-back."""

    condition: str
    since: Window | None = None
    within: Window | None = None

    def describe(self) -> str:
        text = "diagnosis of " + CONDITIONS.get(self.condition, self.condition)
        if self.since is not None:
            text += f" for at least {self.since.describe()} before screening"
        return text + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"diagnosis": self.condition}
        if self.since is not None:
            out["since"] = _win(self.since)
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class SerologyIs:
    """The latest result of ``test`` in the look-back is ``result`` (and, for a positive ANA,
    at least ``min_titer`` when given)."""

    test: str
    result: Literal["positive", "negative"] = "positive"
    min_titer: int | None = None
    within: Window | None = None

    def describe(self) -> str:
        text = f"{SEROLOGY_TESTS.get(self.test, self.test)} {self.result}"
        if self.min_titer is not None:
            text += f" at ≥1:{self.min_titer}"
        return text + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"serology": self.test, "result": self.result}
        if self.min_titer is not None:
            out["min_titer"] = self.min_titer
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class Received:
    """Received any of ``drugs`` / ``classes`` in the look-back (``within=None``: ever) — a
    washout window when used in an exclusion."""

    drugs: frozenset[str] = frozenset()
    classes: frozenset[str] = frozenset()
    within: Window | None = None
    routes: frozenset[str] | None = None

    def describe(self) -> str:
        what = sorted(self.drugs) + [
            f"any {DRUG_CLASSES.get(c, c.replace('_', ' '))}" for c in sorted(self.classes)
        ]
        text = "received " + " or ".join(what)
        if self.routes:
            text += f" ({'/'.join(sorted(self.routes))})"
        return text + _within(self.within, " (ever)")

    def to_dict(self) -> dict[str, Any]:
        rec: dict[str, Any] = {}
        if self.drugs:
            rec["drugs"] = sorted(self.drugs)
        if self.classes:
            rec["classes"] = sorted(self.classes)
        out: dict[str, Any] = {"received": rec}
        if self.routes is not None:
            out["routes"] = sorted(self.routes)
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class EventOf:
    """An event or procedure of these kinds in the look-back (``within=None``: ever)."""

    kinds: frozenset[str]
    within: Window | None = None

    def describe(self) -> str:
        what = " or ".join(EVENT_KINDS.get(k, k) for k in sorted(self.kinds))
        return what + _within(self.within, " (ever)")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": sorted(self.kinds)}
        if self.within is not None:
            out["within"] = _win(self.within)
        return out


@dataclass(frozen=True, slots=True)
class Glucocorticoid:
    """Systemic glucocorticoid dose in prednisone equivalents per day
    (:func:`doseladder.core.clinical.calculators.prednisone_equivalent`).

    Without ``within``: the total on the screening date ``op`` the threshold.  With ``within``:
    on at least ``for_days`` consecutive days of the look-back the daily total ``op`` the
    threshold (an exposure: "prednisone ≥ 100 mg/d for ≥ 14 days within 8 weeks").
    """

    op: Comparator
    mg_per_day: Fraction | None = None
    mg_per_kg_per_day: Fraction | None = None
    routes: frozenset[str] | None = None
    within: Window | None = None
    for_days: int = 1

    def describe(self) -> str:
        thr = (
            f"{fmt_number(self.mg_per_day)} mg/day"
            if self.mg_per_day is not None
            else f"{fmt_number(self.mg_per_kg_per_day or Fraction(0))} mg/kg/day"
        )
        text = f"glucocorticoid {_SYM[self.op]} {thr} prednisone-equivalent"
        if self.routes:
            text += f" ({'/'.join(sorted(self.routes))})"
        if self.within is None:
            return text + " at screening"
        days = f" on ≥{self.for_days} consecutive days" if self.for_days > 1 else " on any day"
        return text + days + _within(self.within)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"glucocorticoid": self.op}
        if self.mg_per_day is not None:
            out["mg_per_day"] = fmt_number(self.mg_per_day)
        if self.mg_per_kg_per_day is not None:
            out["mg_per_kg_per_day"] = fmt_number(self.mg_per_kg_per_day)
        if self.routes is not None:
            out["routes"] = sorted(self.routes)
        if self.within is not None:
            out["within"] = _win(self.within)
        if self.for_days != 1:
            out["for_days"] = self.for_days
        return out


# --------------------------------------------------------------------------- human judgement
@dataclass(frozen=True, slots=True)
class Attest:
    """An item the investigator attests.  Its key in a patient record's ``attestations`` is
    the criterion id, or ``<criterion id>#<item>`` for an item inside a larger logic."""

    item: str | None
    text: str = ""

    def key(self, criterion_id: str) -> str:
        return criterion_id if self.item is None else f"{criterion_id}#{self.item}"

    def describe(self) -> str:
        return "investigator attests" + (f": {self.text}" if self.text else "")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"attests": self.item if self.item is not None else True}
        if self.text:
            out["text"] = self.text
        return out


@dataclass(frozen=True, slots=True)
class Review:
    """A part of the source text that is wrong or ambiguous: never evaluated as written."""

    note: str
    reading: Node | None = None

    def describe(self) -> str:
        text = f"NEEDS REVIEW: {self.note}"
        if self.reading is not None:
            text += f" (suggested reading: {self.reading.describe()})"
        return text

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"review": self.note}
        if self.reading is not None:
            out["reading"] = self.reading.to_dict()
        return out


Node = (
    AllOf
    | AnyOf
    | Not
    | AtLeast
    | Age
    | SexIs
    | IndicationIs
    | CriterionRef
    | MeasureCmp
    | CalcCmp
    | ScoreCmp
    | SledaiTotalClinical
    | BilagAOrB
    | ClassificationIs
    | ItpEntry
    | DiagnosisOf
    | SerologyIs
    | Received
    | EventOf
    | Glucocorticoid
    | Attest
    | Review
)
"""Any node of a criterion's logic."""


def walk(node: Node) -> list[Node]:
    """Every node of the tree, depth first (a review's reading included)."""
    out: list[Node] = [node]
    if isinstance(node, AllOf | AnyOf | AtLeast):
        for c in node.children:
            out += walk(c)
    elif isinstance(node, Not):
        out += walk(node.child)
    elif isinstance(node, Review) and node.reading is not None:
        out += walk(node.reading)
    return out
