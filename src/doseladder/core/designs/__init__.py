"""The designs: one module per design, each a frozen, validated parameter object.

:data:`DESIGNS` (:mod:`.registry`) maps a design name to its class; ``Design.from_dict`` builds
a design from a mapping through it.  The design classes are exported here lazily (a module is
imported when its class is first used), so that reading one design does not import them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from doseladder.core.designs.base import Design
from doseladder.core.designs.registry import (
    _WHERE,
    DESIGNS,
    design_class,
    design_from_mapping,
)

if TYPE_CHECKING:
    from doseladder.core.designs.be_boin import BEBOIN as BEBOIN
    from doseladder.core.designs.bf_boin import BFBOIN as BFBOIN
    from doseladder.core.designs.boin import BOIN as BOIN
    from doseladder.core.designs.boin12 import BOIN12 as BOIN12
    from doseladder.core.designs.crm import CRM as CRM
    from doseladder.core.designs.i3p3 import I3P3 as I3P3
    from doseladder.core.designs.keyboard import Keyboard as Keyboard
    from doseladder.core.designs.mtpi2 import MTPI2 as MTPI2
    from doseladder.core.designs.three_plus_three import ThreePlusThree as ThreePlusThree
    from doseladder.core.designs.tite_boin import TITEBOIN as TITEBOIN
    from doseladder.core.designs.tite_boin12 import TITEBOIN12 as TITEBOIN12
    from doseladder.core.designs.tite_crm import TITECRM as TITECRM

#: the design classes (``BOIN``, ``TITEBOIN``, … below) are importable from here but not listed:
#: they are loaded on first use (``__getattr__``) and documented in their own modules
__all__ = ["DESIGNS", "Design", "design_class", "design_from_mapping"]

#: exported class name -> design name in the registry
_CLASSES = {cls: name for name, (_module, cls) in _WHERE.items()}


def __getattr__(attr: str) -> Any:
    if attr in _CLASSES:
        return DESIGNS[_CLASSES[attr]]
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
