"""The designs: one module per design, each a frozen, validated parameter object."""

from __future__ import annotations

from doseladder.core.designs.base import Design
from doseladder.core.designs.bf_boin import BFBOIN
from doseladder.core.designs.boin import BOIN
from doseladder.core.designs.boin12 import BOIN12
from doseladder.core.designs.crm import CRM
from doseladder.core.designs.i3p3 import I3P3
from doseladder.core.designs.keyboard import Keyboard
from doseladder.core.designs.mtpi2 import MTPI2
from doseladder.core.designs.three_plus_three import ThreePlusThree
from doseladder.core.designs.tite_boin import TITEBOIN
from doseladder.core.designs.tite_boin12 import TITEBOIN12
from doseladder.core.designs.tite_crm import TITECRM

__all__ = [
    "BFBOIN",
    "BOIN",
    "BOIN12",
    "CRM",
    "DESIGNS",
    "I3P3",
    "MTPI2",
    "TITEBOIN",
    "TITEBOIN12",
    "TITECRM",
    "Design",
    "Keyboard",
    "ThreePlusThree",
]

#: design-file name -> class
DESIGNS: dict[str, type[Design]] = {
    cls.name: cls
    for cls in (
        BOIN,
        TITEBOIN,
        BOIN12,
        TITEBOIN12,
        ThreePlusThree,
        CRM,
        TITECRM,
        Keyboard,
        MTPI2,
        I3P3,
        BFBOIN,
    )
}
