"""From a stored protocol version to the core's escalation plan.

A trial's protocol is either a *design file* (a mapping with a ``design`` key, e.g. the
examples in ``doseladder/examples/designs``) or a *protocol file* (read by
:func:`doseladder.protocols.protocol_from_dict`, which provides the escalation plan with dose
labels, indications and the protocol-level rules).  Both become an
:class:`~doseladder.core.rules.plan.EscalationPlan`; a design file becomes a plan with dose
labels ``DL1..DLJ``, one unnamed indication and cohort completion (a decision opens one cohort).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from doseladder.conduct import audit
from doseladder.conduct.errors import ValidationError
from doseladder.core.designs.base import Design
from doseladder.core.errors import InputError
from doseladder.core.rules.plan import EscalationPlan
from doseladder.io.design_file import design_from_dict

__all__ = ["ALL", "Engine", "canonical_content", "parse_protocol"]

#: the name the plan gives the single unnamed indication (stored as ``NULL``)
ALL = "all"


@dataclass(frozen=True)
class Engine:
    """A parsed protocol: the plan plus what the conduct layer needs from the protocol.

    Attributes:
        kind: ``"design"`` or ``"protocol"``.
        plan: the escalation plan the core's :func:`~doseladder.core.rules.plan.recommend` uses.
        dlt_window: DLT assessment window in days given by the protocol/design (``None``: the
            trial's setting applies).
        efficacy_window: efficacy assessment window in days (``None``: the trial's setting).
        signoff_before_escalation: the protocol's requirement of committee sign-off before an
            escalation (``None``: not stated; the trial's setting applies).
        protocol: the :class:`~doseladder.protocols.Protocol` of protocol files (``None`` for
            design files).
        criteria: ids of the protocol's eligibility criteria (screening results may only name
            these; empty = any names).
    """

    kind: str
    plan: EscalationPlan
    dlt_window: float | None = None
    efficacy_window: float | None = None
    signoff_before_escalation: bool | None = None
    protocol: Any = None
    criteria: frozenset[str] = frozenset()

    @property
    def design(self) -> Design:
        return self.plan.design

    @property
    def num_doses(self) -> int:
        return self.plan.num_doses

    @property
    def uses_efficacy(self) -> bool:
        return bool(self.plan.design.uses_efficacy)

    @property
    def cohort_size(self) -> int:
        size: int = self.plan.design.cohort_size
        return size

    @property
    def indications(self) -> tuple[str | None, ...]:
        """Stored indication names: ``(None,)`` for a plan without named indications."""
        return tuple(self.plan.indications) if self.plan.indications else (None,)

    def plan_name(self, indication: str | None) -> str:
        """The plan's name of a stored indication."""
        return ALL if indication is None else indication

    def check_indication(self, value: object, field: str = "indication") -> str | None:
        """Validate a stored indication name for this protocol."""
        if not self.plan.indications:
            if value is not None:
                raise ValidationError(field, "this protocol names no indications; leave it empty")
            return None
        if value is None:
            raise ValidationError(field, f"required: one of {', '.join(self.plan.indications)}")
        if not isinstance(value, str) or value not in self.plan.indications:
            raise ValidationError(
                field,
                f"unknown indication {value!r}; one of {', '.join(self.plan.indications)}",
            )
        return value

    def decision_key(self, indication: str | None) -> str | None:
        """Which decisions a patient of ``indication`` enrols from.

        With a driving indication every indication has its own decisions (keyed by name);
        otherwise the indications are pooled and share one sequence of decisions (key
        ``None``), so a cohort is one cohort whatever the indications of its patients.
        """
        return indication if self.plan.driving_indication is not None else None

    def resolve_key(self, indication: object) -> str | None:
        """Validate an indication given to record a decision and return its decision key
        (default: the driving indication, or the pooled key)."""
        if indication is None:
            return self.plan.driving_indication
        return self.decision_key(self.check_indication(indication))

    def label(self, dose: int | None) -> str | None:
        return self.plan.label(dose)

    def dose_amount(self, dose: int) -> tuple[float | None, str | None, str | None]:
        """``(value, unit, description)`` of a dose level's amount (protocol files only)."""
        doses = getattr(self.protocol, "doses", None)
        if not doses or not 1 <= dose <= len(doses):
            return None, None, None
        amount = doses[dose - 1].amount
        unit = amount.unit.value if amount.unit is not None else None
        return amount.value, unit, str(amount.describe())


def canonical_content(content: Mapping[str, Any]) -> tuple[str, str]:
    """Canonical JSON text of a protocol mapping and its SHA-256."""
    try:
        text = audit.canonical_json(audit.jsonable(dict(content)))
    except (TypeError, ValueError) as exc:
        raise ValidationError("protocol", f"must contain only JSON values ({exc})") from None
    return text, hashlib.sha256(text.encode()).hexdigest()


def _float_or_none(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _from_design(content: Mapping[str, Any]) -> Engine:
    try:
        design = design_from_dict(dict(content))
    except InputError as exc:
        raise ValidationError(f"protocol.{exc.field}", exc.reason) from None
    num: int = design.num_doses
    plan = EscalationPlan(design=design, dose_labels=tuple(f"DL{i}" for i in range(1, num + 1)))
    return Engine(
        kind="design",
        plan=plan,
        dlt_window=_float_or_none(getattr(design, "tox_window", None)),
        efficacy_window=_float_or_none(getattr(design, "eff_window", None)),
    )


def _from_protocol(content: Mapping[str, Any]) -> Engine:
    try:
        from doseladder.protocols import protocol_from_dict
    except ImportError:  # pragma: no cover - the protocols package ships with doseladder
        raise ValidationError(
            "protocol", "protocol files are not supported by this installation (design files are)"
        ) from None
    try:
        protocol = protocol_from_dict(dict(content))
    except InputError as exc:
        raise ValidationError(f"protocol.{exc.field}", exc.reason) from None
    plan = protocol.plan
    design = plan.design
    windows = protocol.windows
    dlt = _float_or_none(getattr(design, "tox_window", None))
    eff = _float_or_none(getattr(design, "eff_window", None))
    if dlt is None:
        dlt = _float_or_none(windows.dlt_days)
    if eff is None:
        eff = _float_or_none(windows.efficacy_days)
    signoff = getattr(protocol, "signoff_before_escalation", None)
    return Engine(
        kind="protocol",
        plan=plan,
        dlt_window=dlt,
        efficacy_window=eff,
        signoff_before_escalation=signoff if isinstance(signoff, bool) else None,
        protocol=protocol,
        criteria=frozenset(c.id for c in protocol.criteria),
    )


def parse_protocol(content: object) -> Engine:
    """Validate a protocol mapping and build its :class:`Engine`.

    Raises :class:`ValidationError` naming the offending key (``protocol.<key>``).
    """
    if not isinstance(content, Mapping):
        raise ValidationError("protocol", "must be a mapping (a design or protocol file)")
    if not content:
        raise ValidationError("protocol", "is empty")
    if isinstance(content.get("design"), str):
        return _from_design(content)
    return _from_protocol(content)
