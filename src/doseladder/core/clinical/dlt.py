"""Dose-limiting toxicity (DLT) adjudication against a per-protocol DLT definition.

No published DLT definition from an autoimmune CAR-T / CAR-NK / TCR-T trial was found, and the
often-quoted "grade 4 cytopenia lasting > 28 days" is NOT FOUND as a sourced rule [spec
``clinical.md`` §3.5, §7 item 8].  Nothing here is a default: every term, grade, duration,
attribution level, window and exclusion is a protocol parameter of :class:`DLTDefinition`.  The
representation follows the spec's template (§3.5: grade threshold × duration × attribution ×
exceptions, window from infusion day 0), whose shape matches published oncology DLT schemas
(e.g. PMC3839288 table T1: grade-4 neutropenia lasting > 5 days, transient < 24 h lab
abnormalities excluded).  CRS and ICANS grades come from ASTCT (:mod:`.astct`), other events
from CTCAE v5.0 (:mod:`.ctcae`), as seed 002 states.

Conventions (all days are numbers on one study-day scale; fractions of a day are allowed):

* Window: an event is *within the DLT window* when ``0 ≤ onset_day − infusion_day ≤
  window_days`` (both ends inclusive).  The window is *complete* when ``today ≥ infusion_day +
  window_days``.
* ``today`` is the data cut-off: every event with onset on or before ``today`` is recorded, and
  an event without ``resolution_day`` is ongoing at ``today``.
* Duration of an event = ``resolution_day − onset_day`` (resolved) or at least ``today −
  onset_day`` (ongoing).  For a duration rule ("grade 4 for more than N days") the event should
  describe the time spent at or above its grade — record each episode as its own event.
* Result: ``"yes"`` as soon as one event meets a rule (even if the window is still open);
  otherwise ``"not_yet_known"`` while the window is open or while some event could still become
  a DLT (ongoing but not yet long enough; attribution not yet assessed; a "transient" exclusion
  not yet decidable); otherwise ``"no"``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from fractions import Fraction
from typing import Any, Literal, NamedTuple

from doseladder.core.clinical.result import Assessment, Contribution
from doseladder.core.clinical.units import NumberLike, to_fraction
from doseladder.core.errors import InputError

__all__ = [
    "TERM_CRS",
    "TERM_ICANS",
    "Attribution",
    "DLTDefinition",
    "DLTExclusion",
    "DLTProposal",
    "DLTRule",
    "DLTStatus",
    "EventCall",
    "GradedEvent",
    "adjudicate",
    "dlt_time",
    "propose_dlt",
    "propose_dlt_with_calls",
    "to_tox_outcome",
]

TERM_CRS = "Cytokine release syndrome"
TERM_ICANS = "Immune effector cell-associated neurotoxicity syndrome"


class Attribution(StrEnum):
    """Investigator's causality assessment of an event to the study treatment."""

    UNRELATED = "unrelated"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class DLTStatus(StrEnum):
    """Adjudication result."""

    YES = "yes"
    NO = "no"
    NOT_YET_KNOWN = "not_yet_known"


def _norm_term(term: object, name: str) -> str:
    if not isinstance(term, str) or not term.strip():
        raise InputError(name, f"must be a non-empty term, got {term!r}")
    return " ".join(term.split()).casefold()


def _terms(terms: Iterable[str] | str, name: str) -> frozenset[str]:
    if isinstance(terms, str):
        raise InputError(name, "must be a collection of terms, not one string")
    return frozenset(_norm_term(t, name) for t in terms)


def _labels(terms: Iterable[str] | str) -> tuple[str, ...]:
    """The terms as given (first spelling of each), sorted case-insensitively, for text."""
    if isinstance(terms, str):
        return ()
    seen: dict[str, str] = {}
    for t in terms:
        if isinstance(t, str) and t.strip():
            seen.setdefault(" ".join(t.split()).casefold(), " ".join(t.split()))
    return tuple(v for _, v in sorted(seen.items()))


def _attributions(levels: Iterable[Attribution | str], name: str) -> frozenset[Attribution]:
    if isinstance(levels, str):
        raise InputError(name, "must be a collection of attribution levels, not one string")
    out = set()
    for lv in levels:
        try:
            out.add(Attribution(lv))
        except ValueError:
            valid = ", ".join(a.value for a in Attribution)
            raise InputError(name, f"{lv!r} is not an attribution level ({valid})") from None
    if not out:
        raise InputError(name, "must name at least one attribution level")
    return frozenset(out)


def _grade(g: object, name: str, lo: int = 1) -> int:
    if isinstance(g, bool) or not isinstance(g, int) or not lo <= g <= 5:
        raise InputError(name, f"must be an integer grade {lo}–5, got {g!r}")
    return g


def _days(x: NumberLike | None, name: str, *, positive: bool = False) -> Fraction | None:
    if x is None:
        return None
    v = to_fraction(x, name)
    if positive and v <= 0:
        raise InputError(name, f"must be > 0 days, got {float(v):g}")
    return v


def _d(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


@dataclass(frozen=True, slots=True)
class GradedEvent:
    """One graded adverse event of one patient.

    Attributes:
        term: CTCAE term or ``TERM_CRS`` / ``TERM_ICANS`` (matched case-insensitively).
        grade: 1–5 (CTCAE or ASTCT).
        onset_day: study day of onset (same scale as ``infusion_day`` and ``today``).
        resolution_day: study day the event resolved (fell below its grade); ``None`` = ongoing.
        attribution: causality to the study treatment; ``None`` = not yet assessed.
        event_id: optional identifier carried into the result.
    """

    term: str
    grade: int
    onset_day: NumberLike
    resolution_day: NumberLike | None = None
    attribution: Attribution | str | None = None
    event_id: str | None = None
    _onset: Fraction = field(init=False, repr=False, compare=False)
    _resolution: Fraction | None = field(init=False, repr=False, compare=False)
    _key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = _norm_term(self.term, "term")
        _grade(self.grade, "grade")
        onset = to_fraction(self.onset_day, "onset_day")
        res = _days(self.resolution_day, "resolution_day")
        if res is not None and res < onset:
            raise InputError("resolution_day", f"({_d(res)}) is before onset_day ({_d(onset)})")
        if self.attribution is not None:
            try:
                object.__setattr__(self, "attribution", Attribution(self.attribution))
            except ValueError:
                valid = ", ".join(a.value for a in Attribution)
                raise InputError(
                    "attribution", f"{self.attribution!r} is not one of: {valid}"
                ) from None
        object.__setattr__(self, "_onset", onset)
        object.__setattr__(self, "_resolution", res)
        object.__setattr__(self, "_key", key)

    def to_dict(self) -> dict[str, Any]:
        att = self.attribution
        return {
            "event_id": self.event_id,
            "term": self.term,
            "grade": self.grade,
            "onset_day": float(self._onset),
            "resolution_day": None if self._resolution is None else float(self._resolution),
            "attribution": att.value if isinstance(att, Attribution) else att,
        }

    def label(self) -> str:
        ident = f"{self.event_id}: " if self.event_id else ""
        return f"{ident}{self.term} grade {self.grade} (onset day {_d(self._onset)})"


@dataclass(frozen=True, slots=True)
class DLTExclusion:
    """An exception: events meeting *all* the given conditions are not DLTs.

    Attributes:
        id: stable identifier (e.g. ``"transient_lab_lt_72h"``).
        terms: terms it applies to (empty = any term).
        max_grade: applies only to events of grade ≤ this (``None`` = any grade).
        onset_before_day: applies only to events with onset < this many days after infusion
            (e.g. expected lymphodepletion cytopenia).
        duration_less_than_days: applies only to events that last < this many days (transient).
        description: protocol wording.
    """

    id: str
    terms: frozenset[str] = frozenset()
    max_grade: int | None = None
    onset_before_day: NumberLike | None = None
    duration_less_than_days: NumberLike | None = None
    description: str = ""
    _term_labels: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("exclusion.id", "must be a non-empty identifier")
        object.__setattr__(self, "_term_labels", _labels(self.terms))
        object.__setattr__(self, "terms", _terms(self.terms, f"exclusion[{self.id}].terms"))
        if self.max_grade is not None:
            _grade(self.max_grade, f"exclusion[{self.id}].max_grade")
        _days(self.onset_before_day, f"exclusion[{self.id}].onset_before_day")
        _days(
            self.duration_less_than_days,
            f"exclusion[{self.id}].duration_less_than_days",
            positive=True,
        )

    def describe(self) -> str:
        parts = [", ".join(self._term_labels) if self.terms else "any event"]
        if self.max_grade is not None:
            parts.append(f"of grade ≤ {self.max_grade}")
        if self.onset_before_day is not None:
            parts.append(f"with onset before day {self.onset_before_day} after infusion")
        if self.duration_less_than_days is not None:
            parts.append(f"lasting < {self.duration_less_than_days} days")
        text = " ".join(parts)
        return f"Excluded ({self.id}): {text}." + (
            f" {self.description}" if self.description else ""
        )


@dataclass(frozen=True, slots=True)
class DLTRule:
    """One DLT criterion.

    Attributes:
        id: stable identifier (e.g. ``"crs_ge3"``).
        min_grade: the event's grade must be ≥ this.
        terms: terms it covers (empty = any term not in ``exclude_terms``).
        exclude_terms: terms never covered (for "any other grade ≥ 3 toxicity except …").
        duration_days: if given, the event must last ``duration_comparator`` this many days.
        duration_comparator: ``">"`` ("lasting more than N days", default) or ``">="``.
        persists_beyond_day: if given, the event must still be present *after* this many
            days from infusion ("grade 4 cytopenia persisting beyond day 28"): met when it
            resolves after that day, or is ongoing at a ``today`` past it; pending while it is
            ongoing and that day has not passed (the day may lie beyond the window: onset
            must be within the window, persistence is followed up).
        attribution: attribution levels counted (``None`` = the definition's).
        window_days: overrides the definition's window for this rule.
        exclusions: exceptions specific to this rule.
        description: protocol wording.
    """

    id: str
    min_grade: int
    terms: frozenset[str] = frozenset()
    exclude_terms: frozenset[str] = frozenset()
    duration_days: NumberLike | None = None
    duration_comparator: Literal[">", ">="] = ">"
    attribution: frozenset[Attribution] | None = None
    window_days: NumberLike | None = None
    exclusions: tuple[DLTExclusion, ...] = ()
    description: str = ""
    persists_beyond_day: NumberLike | None = None
    _term_labels: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)
    _exclude_labels: tuple[str, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip():
            raise InputError("rule.id", "must be a non-empty identifier")
        object.__setattr__(self, "_term_labels", _labels(self.terms))
        object.__setattr__(self, "_exclude_labels", _labels(self.exclude_terms))
        p = f"rule[{self.id}]"
        _grade(self.min_grade, f"{p}.min_grade")
        object.__setattr__(self, "terms", _terms(self.terms, f"{p}.terms"))
        object.__setattr__(self, "exclude_terms", _terms(self.exclude_terms, f"{p}.exclude_terms"))
        if self.terms & self.exclude_terms:
            raise InputError(f"{p}.exclude_terms", "overlaps terms")
        _days(self.duration_days, f"{p}.duration_days", positive=True)
        if self.duration_comparator not in (">", ">="):
            raise InputError(f"{p}.duration_comparator", "must be '>' or '>='")
        if self.attribution is not None:
            object.__setattr__(
                self, "attribution", _attributions(self.attribution, f"{p}.attribution")
            )
        _days(self.window_days, f"{p}.window_days", positive=True)
        _days(self.persists_beyond_day, f"{p}.persists_beyond_day", positive=True)
        object.__setattr__(self, "exclusions", tuple(self.exclusions))
        for e in self.exclusions:
            if not isinstance(e, DLTExclusion):
                raise InputError(f"{p}.exclusions", f"must be DLTExclusion, got {e!r}")

    def describe(self) -> str:
        what = ", ".join(self._term_labels) if self.terms else "any adverse event"
        if self.exclude_terms:
            what += f" (other than {', '.join(self._exclude_labels)})"
        grade = "5 (death)" if self.min_grade == 5 else f"≥ {self.min_grade}"
        text = f"{what} of grade {grade}"
        if self.duration_days is not None:
            op = "more than" if self.duration_comparator == ">" else "at least"
            text += f" lasting {op} {self.duration_days} days"
        if self.persists_beyond_day is not None:
            text += f" persisting beyond day {self.persists_beyond_day} after infusion"
        if self.window_days is not None:
            text += f", onset within {self.window_days} days of infusion"
        if self.attribution is not None:
            text += ", attribution " + "/".join(
                a.value for a in Attribution if a in self.attribution
            )
        text += "".join(f"; {e.describe()[:-1]}" for e in self.exclusions)
        return f"DLT ({self.id}): {text}." + (f" {self.description}" if self.description else "")


@dataclass(frozen=True, slots=True)
class DLTDefinition:
    """A protocol's DLT definition (every value a protocol parameter; see module docstring).

    Attributes:
        rules: the DLT criteria (an event that meets any rule is a DLT).
        window_days: DLT window length in days from infusion (day 0), inclusive.
        attribution: attribution levels counted by default (spec §3.5 template: possible,
            probable, definite — a protocol choice, not a standard).
        exclusions: exceptions applying to every rule.
        name: protocol name/version for the audit trail.
    """

    rules: tuple[DLTRule, ...]
    window_days: NumberLike
    attribution: frozenset[Attribution] = frozenset(
        {Attribution.POSSIBLE, Attribution.PROBABLE, Attribution.DEFINITE}
    )
    exclusions: tuple[DLTExclusion, ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        rules = tuple(self.rules)
        if not rules:
            raise InputError("rules", "a DLT definition needs at least one rule")
        for r in rules:
            if not isinstance(r, DLTRule):
                raise InputError("rules", f"must be DLTRule, got {r!r}")
        ids = [r.id for r in rules]
        if len(set(ids)) != len(ids):
            raise InputError("rules", f"rule ids must be unique, got {ids}")
        object.__setattr__(self, "rules", rules)
        _days(self.window_days, "window_days", positive=True)
        object.__setattr__(self, "attribution", _attributions(self.attribution, "attribution"))
        object.__setattr__(self, "exclusions", tuple(self.exclusions))
        for e in self.exclusions:
            if not isinstance(e, DLTExclusion):
                raise InputError("exclusions", f"must be DLTExclusion, got {e!r}")

    def window_for(self, rule: DLTRule) -> Fraction:
        w = rule.window_days if rule.window_days is not None else self.window_days
        return to_fraction(w, "window_days")

    def describe(self) -> str:
        att = ", ".join(a.value for a in Attribution if a in self.attribution)
        lines = [
            f"DLT window: day 0 (infusion) to day {self.window_days} inclusive; attribution "
            f"counted: {att}."
        ]
        lines += [r.describe() for r in self.rules]
        lines += [e.describe() for e in self.exclusions]
        return " ".join(lines)


class _S(Enum):
    MET = "met"
    NOT = "not met"
    UNKNOWN = "pending"


class EventCall(StrEnum):
    """One event's own DLT call: what :func:`propose_dlt` gives for that event alone at the
    same data cut-off (:func:`propose_dlt_with_calls`)."""

    MET = "met"  #: it meets a rule (the call on it alone is "yes")
    PENDING = "pending"  #: it could still be a DLT (it alone keeps the call open)
    NOT_MET = "not_met"  #: it cannot be a DLT


_CALLS = {_S.MET: EventCall.MET, _S.UNKNOWN: EventCall.PENDING, _S.NOT: EventCall.NOT_MET}


@dataclass(frozen=True, slots=True)
class _Eval:
    status: _S
    reason: str
    rule_id: str | None = None
    established_day: Fraction | None = None


class _Cutoff:
    """The data cut-off ``today`` of one event's evaluation, noting whether it was read.

    Only an ongoing event reads it (how long it has lasted so far: a duration rule, a
    ``persists_beyond_day`` rule, a "transient" exclusion), and whether an evaluation reaches
    such a step depends on the event, the definition and the infusion day alone, never on
    ``today``.  So an evaluation that did not read ``today`` is the same for every ``today``:
    :func:`_adjudicate` keeps it (:class:`_Memo`) instead of evaluating the event again at
    every later cut-off."""

    __slots__ = ("_day", "read")

    def __init__(self, day: Fraction) -> None:
        self._day = day
        self.read = False

    @property
    def day(self) -> Fraction:
        self.read = True
        return self._day


def _exclusion_applies(
    ex: DLTExclusion, ev: GradedEvent, rel_onset: Fraction, today: _Cutoff
) -> tuple[bool | None, str]:
    if ex.terms and ev._key not in ex.terms:
        return False, ""
    if ex.max_grade is not None and ev.grade > ex.max_grade:
        return False, ""
    if ex.onset_before_day is not None and rel_onset >= to_fraction(ex.onset_before_day):
        return False, ""
    if ex.duration_less_than_days is not None:
        n = to_fraction(ex.duration_less_than_days)
        if ev._resolution is not None:
            if ev._resolution - ev._onset >= n:
                return False, ""
        elif today.day - ev._onset >= n:
            return False, ""
        else:
            return None, (
                f"may be excluded by {ex.id} (lasting < {_d(n)} days) — ongoing for "
                f"{_d(today.day - ev._onset)} day(s)"
            )
    return True, f"excluded by {ex.id}" + (f" ({ex.description})" if ex.description else "")


def _evaluate_rule(
    d: DLTDefinition, rule: DLTRule, ev: GradedEvent, infusion: Fraction, today: _Cutoff
) -> _Eval:
    rid = rule.id
    if rule.terms and ev._key not in rule.terms:
        return _Eval(_S.NOT, f"{rid}: term not covered", rid)
    if ev._key in rule.exclude_terms:
        return _Eval(_S.NOT, f"{rid}: term excluded from this rule", rid)
    if ev.grade < rule.min_grade:
        return _Eval(_S.NOT, f"{rid}: grade {ev.grade} < {rule.min_grade}", rid)
    rel = ev._onset - infusion
    window = d.window_for(rule)
    if rel < 0:
        return _Eval(_S.NOT, f"{rid}: onset before infusion (day {_d(rel)})", rid)
    if rel > window:
        return _Eval(
            _S.NOT, f"{rid}: onset day {_d(rel)} after the DLT window (day {_d(window)})", rid
        )
    levels = rule.attribution if rule.attribution is not None else d.attribution
    pending: list[str] = []
    if ev.attribution is None:
        pending.append("attribution not yet assessed")
    elif ev.attribution not in levels:
        return _Eval(_S.NOT, f"{rid}: attribution '{ev.attribution}' not counted", rid)
    established = ev._onset
    if rule.duration_days is not None:
        n = to_fraction(rule.duration_days)
        op = rule.duration_comparator
        sym = ">" if op == ">" else "≥"
        if ev._resolution is not None:
            dur = ev._resolution - ev._onset
            ok = dur > n if op == ">" else dur >= n
            if not ok:
                return _Eval(_S.NOT, f"{rid}: lasted {_d(dur)} day(s), not {sym} {_d(n)}", rid)
            established = ev._onset + n
        else:
            so_far = today.day - ev._onset
            ok = so_far > n if op == ">" else so_far >= n
            if not ok:
                pending.append(
                    f"ongoing for {_d(so_far)} day(s); a DLT if it lasts {sym} {_d(n)} days"
                )
            established = ev._onset + n
    if rule.persists_beyond_day is not None:
        limit = infusion + to_fraction(rule.persists_beyond_day)
        pb = _d(to_fraction(rule.persists_beyond_day))
        if ev._resolution is not None:
            if ev._resolution <= limit:
                return _Eval(
                    _S.NOT,
                    f"{rid}: resolved on day {_d(ev._resolution - infusion)}, not beyond day {pb}",
                    rid,
                )
        elif today.day <= limit:
            pending.append(
                f"ongoing on day {_d(today.day - infusion)}; a DLT if still present after day {pb}"
            )
        established = max(established, limit)
    excl_pending: list[str] = []
    for ex in (*rule.exclusions, *d.exclusions):
        applies, why = _exclusion_applies(ex, ev, rel, today)
        if applies is True:
            return _Eval(_S.NOT, f"{rid}: {why}", rid)
        if applies is None:
            excl_pending.append(why)
    pending += excl_pending
    if pending:
        return _Eval(_S.UNKNOWN, f"{rid}: " + "; ".join(pending), rid)
    desc = f"grade {ev.grade} ≥ {rule.min_grade}, onset day {_d(rel)} within window"
    if rule.duration_days is not None:
        desc += f", duration {sym} {_d(to_fraction(rule.duration_days))} days"
    if rule.persists_beyond_day is not None:
        desc += f", present beyond day {_d(to_fraction(rule.persists_beyond_day))}"
    desc += f", attribution {ev.attribution}"
    return _Eval(_S.MET, f"{rid}: {desc}", rid, established)


def _evaluate_event(d: DLTDefinition, ev: GradedEvent, infusion: Fraction, today: _Cutoff) -> _Eval:
    evals = [_evaluate_rule(d, r, ev, infusion, today) for r in d.rules]
    met = [e for e in evals if e.status is _S.MET]
    if met:
        return min(met, key=lambda e: e.established_day or Fraction(0))
    unknown = [e for e in evals if e.status is _S.UNKNOWN]
    if unknown:
        return _Eval(_S.UNKNOWN, "; ".join(e.reason for e in unknown), unknown[0].rule_id)
    relevant = [e.reason for e in evals if "term not covered" not in e.reason]
    return _Eval(_S.NOT, "; ".join(relevant) if relevant else "no rule covers this term")


def adjudicate(
    definition: DLTDefinition,
    events: Sequence[GradedEvent],
    infusion_day: NumberLike,
    today: NumberLike,
) -> Assessment[DLTStatus]:
    """Adjudicate one patient's DLT status at the data cut-off ``today``.

    Returns an :class:`Assessment` whose ``value`` is :class:`DLTStatus` (``"yes"``, ``"no"``
    or ``"not_yet_known"``).  ``inputs["deciding_event"]`` is the event that decided a "yes"
    (the earliest-onset DLT) or that keeps the status open, with ``inputs["deciding_rule"]``;
    ``inputs["dlt_day"]`` is the DLT onset in days after infusion.  One
    :class:`Contribution` per event explains its evaluation.

    Pure: what does not depend on ``today`` (the definition's texts; an event's evaluation
    that never read ``today``) is kept per definition object for the next calls (``_Memo``),
    so adjudicating a long list again at a later cut-off re-evaluates only the ongoing events
    whose evaluation reads it; the result is the same as computing everything anew.

    Raises:
        InputError: ``today`` before ``infusion_day``; an event with onset after ``today`` or a
            resolution after ``today``; a non-:class:`GradedEvent` item.
    """
    return _adjudicate(definition, events, infusion_day, today)[0]


class _Known(NamedTuple):
    """What :func:`_adjudicate` keeps of one event (:class:`_Memo`): its label, and when its
    evaluation did not read ``today`` (:class:`_Cutoff`; otherwise ``None``, ``""`` and
    nothing: it is evaluated at every cut-off) that evaluation, the contribution's detail
    text and the (frozen) contribution at each index the event has had in a list of events
    (its item text names the index; a patient's events keep their order, so an event has
    few of them)."""

    label: str
    evaluation: _Eval | None
    detail: str
    contributions: dict[int, Contribution]


class _Memo:
    """What :func:`_adjudicate` derives from one :class:`DLTDefinition` alone and keeps for
    the next adjudications against the same definition object: its protocol text, the end
    of its widest window, each rule's text, and per event and infusion day a :class:`_Known`.

    Why: the conduct service adjudicates a patient's whole list of not-yet-adjudicated events
    again at every write about the patient, so evaluating each of them anew made every write
    cost time in proportion to the patient's history.  Everything kept is a pure function of
    its key (the definition is frozen; the event's key holds every field its evaluation and
    label read), so a kept value is exactly what the computation gives again; an evaluation
    that read ``today`` is never kept.  The definition is found by identity (hashing or
    comparing the nested frozen definition per call would cost about what is saved); the
    memo holds it, so its ``id`` cannot be reused while the memo is kept."""

    __slots__ = ("definition", "events", "rule_texts", "text", "window_end")

    def __init__(self, definition: DLTDefinition, *, keep: bool) -> None:
        self.definition = definition
        self.text = definition.describe()
        self.window_end = max(definition.window_for(r) for r in definition.rules)
        self.rule_texts = {r.id: r.describe() for r in definition.rules}
        #: per (infusion day, event key) what is kept; ``None``: keep nothing (the reference)
        self.events: dict[tuple[Any, ...], _Known] | None = {} if keep else None


#: the kept memos by ``id`` of their definition (at most :data:`_DEFINITIONS_KEPT`; all kept
#: events together at most :data:`_EVENTS_KEPT`, about 1 kB each): both bounds are met by
#: forgetting everything, as the conduct service's own per-process caches do -- a forgotten
#: value is only computed again.  Plain dict operations (atomic in CPython) keep it safe to
#: use from several threads: two threads can at worst compute the same value twice.
_MEMOS: dict[int, _Memo] = {}
_DEFINITIONS_KEPT = 64
_EVENTS_KEPT = 20_000


def _memo(definition: DLTDefinition) -> _Memo:
    memo = _MEMOS.get(id(definition))
    if memo is None or memo.definition is not definition:
        memo = _Memo(definition, keep=True)
        if len(_MEMOS) >= _DEFINITIONS_KEPT:
            _MEMOS.clear()
        _MEMOS[id(definition)] = memo
    return memo


def _contribution(i: int, label: str, detail: str) -> Contribution:
    return Contribution(item=f"events[{i}] {label}", points=None, detail=detail)


def _evaluations(
    memo: _Memo, events: Sequence[GradedEvent], infusion: Fraction, now: Fraction
) -> list[tuple[GradedEvent, _Eval, Contribution]]:
    """Each event with its evaluation at ``now`` and its contribution (at its index),
    reusing what ``memo`` keeps (:class:`_Memo`) and keeping what it may."""
    kept = memo.events
    new: dict[tuple[Any, ...], _Known] = {}
    out = []
    # the days as integer pairs: a Fraction hashes and compares in Python, slowly
    day0 = (infusion.numerator, infusion.denominator)
    for i, ev in enumerate(events):
        onset, res = ev._onset, ev._resolution
        key = (
            *day0,
            ev.term,
            ev.grade,
            onset.numerator,
            onset.denominator,
            None if res is None else (res.numerator, res.denominator),
            ev.attribution,
            ev.event_id,
        )
        known = None if kept is None else kept.get(key)
        if known is not None and known.evaluation is not None:
            c = known.contributions.get(i)
            if c is None:
                c = known.contributions[i] = _contribution(i, known.label, known.detail)
            out.append((ev, known.evaluation, c))
            continue
        cutoff = _Cutoff(now)
        e = _evaluate_event(memo.definition, ev, infusion, cutoff)
        label = ev.label() if known is None else known.label
        c = _contribution(i, label, f"{e.status.value}: {e.reason}")
        if known is None:
            new[key] = (
                _Known(label, None, "", {}) if cutoff.read else _Known(label, e, c.detail, {i: c})
            )
        out.append((ev, e, c))
    if kept is not None and new:
        if sum(len(m.events or ()) for m in list(_MEMOS.values())) + len(new) > _EVENTS_KEPT:
            for m in list(_MEMOS.values()):
                m.events = {}
            kept = memo.events = {}
        if len(new) <= _EVENTS_KEPT:
            kept.update(new)
    return out


def _checked(
    definition: DLTDefinition,
    events: Sequence[GradedEvent],
    infusion_day: NumberLike,
    today: NumberLike,
) -> tuple[Fraction, Fraction, list[GradedEvent]]:
    """The infusion day, ``today`` and the events, checked (the errors of :func:`adjudicate`)."""
    if not isinstance(definition, DLTDefinition):
        raise InputError("definition", f"must be a DLTDefinition, got {definition!r}")
    infusion = to_fraction(infusion_day, "infusion_day")
    now = to_fraction(today, "today")
    if now < infusion:
        raise InputError("today", f"({_d(now)}) is before infusion_day ({_d(infusion)})")
    evs = list(events)
    for i, ev in enumerate(evs):
        if not isinstance(ev, GradedEvent):
            raise InputError(f"events[{i}]", f"must be a GradedEvent, got {ev!r}")
        if ev._onset > now:
            raise InputError(
                f"events[{i}].onset_day", f"({_d(ev._onset)}) is after today ({_d(now)})"
            )
        if ev._resolution is not None and ev._resolution > now:
            raise InputError(
                f"events[{i}].resolution_day",
                f"({_d(ev._resolution)}) is after today ({_d(now)})",
            )
    return infusion, now, evs


def _adjudicate(
    definition: DLTDefinition,
    events: Sequence[GradedEvent],
    infusion_day: NumberLike,
    today: NumberLike,
    *,
    memo: bool = True,
) -> tuple[Assessment[DLTStatus], tuple[EventCall, ...], _Memo]:
    """:func:`adjudicate` and each event's own call (its evaluation, as the adjudication of
    that event alone at the same ``today`` decides: met -- "yes"; pending -- it is the
    deciding event of "not_yet_known"; not met -- no deciding event), and the definition's
    :class:`_Memo`.  ``memo=False``: compute everything anew and keep nothing (the reference
    the kept values are tested against)."""
    infusion, now, evs = _checked(definition, events, infusion_day, today)
    m = _memo(definition) if memo else _Memo(definition, keep=False)
    window_end = m.window_end
    inputs: dict[str, Any] = {
        "definition": definition.name or None,
        "definition_text": m.text,
        "infusion_day": float(infusion),
        "today": float(now),
        "window_end_day": float(infusion + window_end),
        "n_events": len(evs),
    }
    evaluations = _evaluations(m, evs, infusion, now)
    evaluated = [(i, ev, e) for i, (ev, e, _) in enumerate(evaluations)]
    contributions = tuple(c for _, _, c in evaluations)
    instrument = "DLT adjudication" + (f" ({definition.name})" if definition.name else "")
    met = [(i, ev, e) for i, ev, e in evaluated if e.status is _S.MET]
    unknown = [(i, ev, e) for i, ev, e in evaluated if e.status is _S.UNKNOWN]
    reasons: list[str] = []
    status: DLTStatus
    if met:
        _, ev, e = min(met, key=lambda t: (t[1]._onset, t[2].established_day or 0, t[0]))
        status = DLTStatus.YES
        inputs.update(
            deciding_event=ev.to_dict(),
            deciding_rule=e.rule_id,
            dlt_day=float(ev._onset - infusion),
        )
        reasons.append(f"DLT: {ev.label()} meets {e.reason}.")
        if len(met) > 1:
            reasons.append(f"{len(met)} events meet a DLT rule; the earliest onset decides.")
    elif unknown:
        _, ev, e = min(unknown, key=lambda t: (t[1]._onset, t[0]))
        status = DLTStatus.NOT_YET_KNOWN
        inputs.update(deciding_event=ev.to_dict(), deciding_rule=e.rule_id, dlt_day=None)
        reasons.append(f"Not yet known: {ev.label()} could still be a DLT ({e.reason}).")
    elif now < infusion + window_end:
        status = DLTStatus.NOT_YET_KNOWN
        inputs.update(deciding_event=None, deciding_rule=None, dlt_day=None)
        reasons.append(
            f"Not yet known: no DLT so far and the DLT window is open until day "
            f"{_d(infusion + window_end)} (today is day {_d(now)}, "
            f"{_d(now - infusion)} day(s) after infusion)."
        )
    else:
        status = DLTStatus.NO
        inputs.update(deciding_event=None, deciding_rule=None, dlt_day=None)
        reasons.append(
            f"No DLT: the DLT window closed on day {_d(infusion + window_end)} and none of the "
            f"{len(evs)} event(s) meets a DLT rule."
        )
    assessment = Assessment(
        instrument=instrument,
        value=status,
        inputs=inputs,
        contributions=contributions,
        reasons=tuple(reasons),
    )
    return assessment, tuple(_CALLS[e.status] for _, _, e in evaluated), m


def to_tox_outcome(assessment: Assessment[DLTStatus]) -> bool | None:
    """The core's ``Patient.tox``: ``"yes"`` → ``True``, ``"no"`` → ``False``, else ``None``."""
    v = assessment.value
    if v == DLTStatus.YES:
        return True
    if v == DLTStatus.NO:
        return False
    if v == DLTStatus.NOT_YET_KNOWN or v is None:
        return None
    raise InputError("assessment", f"not a DLT adjudication result: {v!r}")


def dlt_time(assessment: Assessment[DLTStatus]) -> float | None:
    """The core's ``Patient.tox_time``: DLT onset in days after infusion when ``"yes"``."""
    if to_tox_outcome(assessment) is not True:
        return None
    t = assessment.inputs.get("dlt_day")
    return None if t is None else float(t)


@dataclass(frozen=True, slots=True)
class DLTProposal:
    """The DLT call the service proposes for one patient, for a person to confirm or override.

    Attributes:
        status: ``"yes"``, ``"no"`` or ``"not_yet_known"`` (:class:`DLTStatus`).
        rule_id: the rule that fired (``"yes"``) or that keeps the call open; ``None`` otherwise.
        rule_text: that rule as protocol text (:meth:`DLTRule.describe`).
        event: the deciding event (:meth:`GradedEvent.to_dict`), or ``None``.
        dlt_day: DLT onset in days after infusion when ``"yes"``.
        reasons: plain-English reasoning (from :func:`adjudicate`).
        assessment: the full :func:`adjudicate` result (one contribution per event).
    """

    status: DLTStatus
    rule_id: str | None
    rule_text: str | None
    event: dict[str, Any] | None
    dlt_day: float | None
    reasons: tuple[str, ...]
    assessment: Assessment[DLTStatus]

    @property
    def tox(self) -> bool | None:
        """The core's ``Patient.tox`` for this call (:func:`to_tox_outcome`)."""
        return to_tox_outcome(self.assessment)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "rule_id": self.rule_id,
            "rule_text": self.rule_text,
            "event": self.event,
            "dlt_day": self.dlt_day,
            "reasons": list(self.reasons),
            "assessment": self.assessment.to_dict(),
        }


def propose_dlt(
    definition: DLTDefinition,
    events: Sequence[GradedEvent],
    *,
    infusion_day: NumberLike,
    today: NumberLike,
) -> DLTProposal:
    """Propose the DLT call for one patient: a thin layer over :func:`adjudicate`.

    It adds nothing to the adjudication; it names the rule that fired (its id and its protocol
    text) and the deciding event, in the shape the conduct service stores and shows next to
    the confirm / override buttons.

    Args:
        definition: the protocol's DLT definition (``Protocol.dlt``).
        events: the patient's graded events (:class:`GradedEvent`, days on the study-day scale).
        infusion_day: study day of the infusion (day 0 of the DLT window).
        today: the data cut-off.

    Raises:
        InputError: as :func:`adjudicate` (naming the field).
    """
    a, _, memo = _adjudicate(definition, events, infusion_day, today)
    return _proposal(memo, a)


def propose_dlt_with_calls(
    definition: DLTDefinition,
    events: Sequence[GradedEvent],
    *,
    infusion_day: NumberLike,
    today: NumberLike,
) -> tuple[DLTProposal, tuple[EventCall, ...]]:
    """:func:`propose_dlt` and each event's own call (:class:`EventCall`, in the order of
    ``events``), from one adjudication: for every event, the call :func:`propose_dlt` makes on
    ``[event]`` alone with the same ``infusion_day`` and ``today`` -- ``met`` when its status
    is "yes", ``pending`` when that event keeps it open, ``not_met`` otherwise.

    Raises:
        InputError: as :func:`adjudicate`.
    """
    a, calls, memo = _adjudicate(definition, events, infusion_day, today)
    return _proposal(memo, a), calls


def _proposal(memo: _Memo, a: Assessment[DLTStatus]) -> DLTProposal:
    status = a.value if isinstance(a.value, DLTStatus) else DLTStatus.NOT_YET_KNOWN
    rule_id = a.inputs.get("deciding_rule")
    return DLTProposal(
        status=status,
        rule_id=rule_id,
        rule_text=None if rule_id is None else memo.rule_texts.get(rule_id),
        event=a.inputs.get("deciding_event"),
        dlt_day=dlt_time(a),
        reasons=a.reasons,
        assessment=a,
    )
