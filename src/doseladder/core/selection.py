"""Final dose selection results (MTD or OBD) with per-dose estimates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import pandas as pd

from doseladder.core.decision import Reason

__all__ = ["DoseEstimate", "Selection"]


@dataclass(frozen=True, slots=True)
class DoseEstimate:
    """Estimates for one dose level.

    ``tox_*`` are isotonic (PAVA-smoothed) toxicity estimates with a 95% credible interval;
    ``eff_*`` and ``utility`` are filled by phase I/II designs.  ``None`` = not estimable
    (e.g. an untried dose).
    """

    dose: int
    n: int
    n_tox: int
    n_eff: int | None = None
    tox_est: float | None = None
    tox_lower: float | None = None
    tox_upper: float | None = None
    p_overdose: float | None = None
    eff_est: float | None = None
    eff_lower: float | None = None
    eff_upper: float | None = None
    utility: float | None = None
    admissible: bool | None = None


@dataclass(frozen=True, slots=True)
class Selection:
    """The selected dose at the end of a trial.

    Attributes:
        kind: ``"mtd"`` (maximum tolerated dose) or ``"obd"`` (optimal biological dose).
        dose: the selected dose level (1-based), or ``None`` when no dose is selected.
        reason: why (the rule and its numbers), including why nothing was selected.
        estimates: one :class:`DoseEstimate` per dose level 1..J.
        mtd: for OBD selection, the isotonic MTD that bounds the OBD (``None`` otherwise).
        details: design-specific top-level results added to :meth:`to_dict` (e.g. the CRM's
            plug-in ``ptox`` and ``posterior_mean``).
    """

    kind: Literal["mtd", "obd"]
    dose: int | None
    reason: Reason
    estimates: tuple[DoseEstimate, ...]
    mtd: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        """Tidy per-dose table of the estimates."""
        rows = [{k: getattr(e, k) for k in DoseEstimate.__slots__} for e in self.estimates]
        import pandas as pd  # deferred: a decision needs no pandas (CLI start-up)

        frame = pd.DataFrame(rows)
        frame["selected"] = frame["dose"] == self.dose
        return frame.dropna(axis=1, how="all")

    def summary(self, labels: Sequence[str] | None = None) -> str:
        """A printable summary (selected dose, why, and the per-dose table).

        With ``labels`` (a protocol's dose labels, lowest level first, one per level) the
        selected dose (and an OBD's bounding MTD) is named by its label, the table gets a
        ``label`` column and a line maps levels to labels (the reason's numbers are levels).
        """
        if labels is not None and len(labels) != len(self.estimates):
            raise ValueError(f"{len(labels)} dose label(s) for {len(self.estimates)} dose level(s)")

        def name(dose: int | None) -> str:
            if dose is None:
                return "none"
            return f"{labels[dose - 1]} (dose level {dose})" if labels else str(dose)

        head = f"{self.kind.upper()}: {name(self.dose)}"
        frame = self.to_frame().round(3)
        lines = [head]
        if labels:
            if self.kind == "obd":
                lines[0] += f"; MTD: {name(self.mtd)}"
            frame.insert(1, "label", [labels[int(d) - 1] for d in frame["dose"]])
            lines.append(
                "Dose levels: " + ", ".join(f"{i} = {lab}" for i, lab in enumerate(labels, 1))
            )
        lines += [self.reason.message, frame.to_string(index=False)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            self.kind: self.dose,
            "reason": self.reason.to_dict(),
            "estimates": self.to_frame().to_dict(orient="records"),
        }
        if self.kind == "obd":
            out["mtd"] = self.mtd
        out.update(self.details)
        return out
