"""Protocol scenarios: the truth a whole protocol is simulated under (issue #4, part 3).

A :class:`ProtocolScenario` holds, for every indication of a protocol, a design-style truth --
P(DLT) and P(response) per dose level, their odds ratio -- and that indication's accrual
process, plus the event-time models shared by every indication (:mod:`.scenario`).  Scenario
files are YAML or JSON::

    name: S1
    description: illustrative truths, not data
    indications:
      SLE-ITP:
        p_tox: [0.05, 0.15, 0.30]
        p_eff: [0.20, 0.40, 0.55]
        tox_eff_odds_ratio: 1.0          # optional, default 1 (independent)
        accrual: {type: poisson, rate: 0.05}   # patients per day
      SLE-other:
        p_tox: [0.05, 0.15, 0.30]
        accrual: {type: fixed, rate: 0.02}
    tox_time: {model: uniform}           # optional, as in design scenarios
    eff_time: {model: weibull, alpha1: 0.5, alpha2: 0.5}
    other_accrual_after_driving_stop: 0  # days; optional (see below)

Every indication of the protocol must be listed (a protocol without named indications uses the
single key ``all``); unknown keys and indications are errors naming the dotted path, e.g.
``indications.SLE.p_tox[2]: must be a probability in [0, 1], got 1.3``.

``other_accrual_after_driving_stop`` (days, default 0): with a driving indication, the other
indications are simulated from time 0 until the driving cohort's accrual has ended, plus this
many days, at most 3650 (they still follow the protocol: closed after a safety stop, by the
caps, or when ``continue_after_driving_stop`` is false).  Time unit: days, as the protocol's
windows.

Reading a scenario file is :func:`doseladder.io.scenario_file.load_protocol_scenario` (this
module does no file I/O of its own, so that ``simulate`` never imports ``io``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from doseladder.core.errors import InputError
from doseladder.simulate.scenario import Accrual, EventTimeModel, Scenario

__all__ = [
    "ALL",
    "IndicationTruth",
    "ProtocolScenario",
    "shipped_scenario_path",
]

#: scenario key of a protocol without named indications
ALL = "all"
#: longest accrual of other indications after the driving cohort's (days; bounds memory)
MAX_EXTRA_DAYS = 3650


@dataclass(frozen=True, slots=True)
class IndicationTruth:
    """True dose-outcome curves and accrual of one indication.

    Attributes:
        p_tox: P(DLT within the DLT window) per dose level, lowest first.
        p_eff: P(response within the efficacy window) per dose level (``None``: not modelled).
        tox_eff_odds_ratio: odds ratio between DLT and response (1 = independent).
        accrual: arrivals of eligible patients (rate per day; ``fixed`` or ``poisson``).
    """

    p_tox: tuple[float, ...]
    p_eff: tuple[float, ...] | None = None
    tox_eff_odds_ratio: float = 1.0
    accrual: Accrual = field(default_factory=Accrual)

    def __post_init__(self) -> None:
        # validation shared with design scenarios (same messages); lists become tuples
        sc = self.as_scenario(EventTimeModel(), EventTimeModel())
        object.__setattr__(self, "p_tox", sc.p_tox)
        object.__setattr__(self, "p_eff", sc.p_eff)
        object.__setattr__(self, "tox_eff_odds_ratio", float(sc.tox_eff_odds_ratio))
        if not isinstance(self.accrual, Accrual):
            raise InputError("accrual", "must be an Accrual")

    def as_scenario(self, tox_time: EventTimeModel, eff_time: EventTimeModel) -> Scenario:
        """The design-level :class:`~doseladder.simulate.scenario.Scenario` of this truth."""
        return Scenario(
            p_tox=tuple(self.p_tox),
            p_eff=None if self.p_eff is None else tuple(self.p_eff),
            tox_eff_odds_ratio=self.tox_eff_odds_ratio,
            accrual=self.accrual,
            tox_time=tox_time,
            eff_time=eff_time,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "p_tox": list(self.p_tox),
            "p_eff": None if self.p_eff is None else list(self.p_eff),
            "tox_eff_odds_ratio": self.tox_eff_odds_ratio,
            "accrual": {"type": self.accrual.type, "rate": self.accrual.rate},
        }


_TRUTH_KEYS = ("p_tox", "p_eff", "tox_eff_odds_ratio", "accrual")
_TOP_KEYS = (
    "name",
    "description",
    "indications",
    "tox_time",
    "eff_time",
    "other_accrual_after_driving_stop",
)


def _sub(key: str, value: Any, typ: type[Any]) -> Any:
    if not isinstance(value, Mapping):
        raise InputError(key, "must be a mapping")
    names = set(typ.__dataclass_fields__)
    bad = sorted(set(value) - names)
    if bad:
        raise InputError(f"{key}.{bad[0]}", f"unknown key; allowed: {', '.join(sorted(names))}")
    try:
        return typ(**value)
    except InputError as exc:
        raise InputError(f"{key}.{exc.field}", exc.reason) from None


def _truth(path: str, data: Any) -> IndicationTruth:
    if not isinstance(data, Mapping):
        raise InputError(path, "must be a mapping with p_tox, p_eff, accrual")
    unknown = sorted(set(data) - set(_TRUTH_KEYS))
    if unknown:
        raise InputError(
            f"{path}.{unknown[0]}", f"unknown key; allowed: {', '.join(sorted(_TRUTH_KEYS))}"
        )
    if "p_tox" not in data:
        raise InputError(f"{path}.p_tox", "required")
    if "accrual" not in data:
        raise InputError(f"{path}.accrual", "required: {type: poisson|fixed, rate: per day}")
    kw: dict[str, Any] = {}
    for key in ("p_tox", "p_eff"):
        if data.get(key) is not None:
            kw[key] = tuple(data[key]) if isinstance(data[key], list) else data[key]
    if "tox_eff_odds_ratio" in data:
        kw["tox_eff_odds_ratio"] = data["tox_eff_odds_ratio"]
    kw["accrual"] = _sub(f"{path}.accrual", data["accrual"], Accrual)
    try:
        return IndicationTruth(**kw)
    except InputError as exc:
        raise InputError(f"{path}.{exc.field}", exc.reason) from None


@dataclass(frozen=True)
class ProtocolScenario:
    """Per-indication truths and accrual, and the shared event-time models (module docstring).

    Attributes:
        indications: indication id -> :class:`IndicationTruth` (file order).
        tox_time, eff_time: time-to-event models within the DLT / efficacy windows.
        other_accrual_after_driving_stop: days the other indications keep accruing after the
            driving cohort's accrual ended (default 0).
        name, description: labels for reports.
    """

    indications: Mapping[str, IndicationTruth]
    tox_time: EventTimeModel = field(default_factory=EventTimeModel)
    eff_time: EventTimeModel = field(default_factory=EventTimeModel)
    other_accrual_after_driving_stop: float = 0.0
    name: str = ""
    description: str = ""

    def __post_init__(self) -> None:
        inds = dict(self.indications)
        if not inds:
            raise InputError("indications", "at least one indication is required")
        for k, v in inds.items():
            if not isinstance(k, str) or not k.strip():
                raise InputError("indications", f"indication ids must be non-empty, got {k!r}")
            if not isinstance(v, IndicationTruth):
                raise InputError(f"indications.{k}", "must be an IndicationTruth")
        object.__setattr__(self, "indications", inds)
        extra = self.other_accrual_after_driving_stop
        if (
            isinstance(extra, bool)
            or not isinstance(extra, int | float)
            or not math.isfinite(extra)
            or not 0 <= extra <= MAX_EXTRA_DAYS
        ):
            raise InputError(
                "other_accrual_after_driving_stop",
                f"must be a number of days in 0..{MAX_EXTRA_DAYS}, got {extra!r}",
            )
        object.__setattr__(self, "other_accrual_after_driving_stop", float(extra))

    def truth(self, indication: str) -> IndicationTruth:
        try:
            return self.indications[indication]
        except KeyError:
            known = ", ".join(self.indications)
            raise InputError(
                "indications", f"no truth for indication {indication!r}; given: {known}"
            ) from None

    def check_for(
        self, indications: tuple[str, ...], num_doses: int, *, needs_efficacy: bool
    ) -> None:
        """Validate against a protocol: the same indications, one value per dose level."""
        names = indications or (ALL,)
        missing = [x for x in names if x not in self.indications]
        if missing:
            raise InputError(
                f"indications.{missing[0]}",
                f"missing: the protocol's indications are {', '.join(names)}",
            )
        unknown = [x for x in self.indications if x not in names]
        if unknown:
            raise InputError(
                f"indications.{unknown[0]}",
                f"not an indication of the protocol ({', '.join(names)})",
            )
        for name in names:
            t = self.indications[name]
            if len(t.p_tox) != num_doses:
                raise InputError(
                    f"indications.{name}.p_tox",
                    f"has {len(t.p_tox)} values but the protocol has {num_doses} dose levels",
                )
            if needs_efficacy and t.p_eff is None:
                raise InputError(
                    f"indications.{name}.p_eff", "required: the design uses efficacy (phase I/II)"
                )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "indications": {k: v.to_dict() for k, v in self.indications.items()},
            "tox_time": {
                "model": self.tox_time.model,
                "alpha1": self.tox_time.alpha1,
                "alpha2": self.tox_time.alpha2,
            },
            "eff_time": {
                "model": self.eff_time.model,
                "alpha1": self.eff_time.alpha1,
                "alpha2": self.eff_time.alpha2,
            },
            "other_accrual_after_driving_stop": self.other_accrual_after_driving_stop,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProtocolScenario:
        """Build from a scenario-file mapping (errors name the dotted path)."""
        if not isinstance(data, Mapping):
            raise InputError("scenario", "must be a mapping")
        unknown = sorted(set(data) - set(_TOP_KEYS))
        if unknown:
            raise InputError(
                unknown[0], f"unknown protocol-scenario key; allowed: {', '.join(_TOP_KEYS)}"
            )
        inds = data.get("indications")
        if not isinstance(inds, Mapping) or not inds:
            raise InputError(
                "indications", "required: a mapping of indication id -> {p_tox, p_eff, accrual}"
            )
        truths = {str(k): _truth(f"indications.{k}", v) for k, v in inds.items()}
        kw: dict[str, Any] = {"indications": truths}
        for key in ("tox_time", "eff_time"):
            if key in data:
                kw[key] = _sub(key, data[key], EventTimeModel)
        for key in ("name", "description"):
            if data.get(key) is not None:
                if not isinstance(data[key], str):
                    raise InputError(key, "must be text")
                kw[key] = data[key]
        if data.get("other_accrual_after_driving_stop") is not None:
            kw["other_accrual_after_driving_stop"] = data["other_accrual_after_driving_stop"]
        return cls(**kw)


def shipped_scenario_path(protocol_id: str) -> Path:
    """The example scenario shipped for a shipped protocol (``protocols/scenarios/<id>.yaml``)."""
    from doseladder.protocols.shipped import library_dir

    p = library_dir() / "scenarios" / f"{protocol_id}.yaml"
    if not p.is_file():
        raise InputError(
            "--scenario", f"no example scenario is shipped for {protocol_id!r}: give --scenario"
        )
    return p
