"""Protocol files: a whole trial (doses in real units, lymphodepletion, design, rules, windows,
indications, eligibility criteria, visit schedule) as a validated, typed :class:`Protocol`.

* :func:`load_protocol` / :func:`protocol_from_dict` -- read and validate (schema version 1,
  :mod:`doseladder.protocols.schema`); errors name the dotted path of the bad key;
* :func:`list_protocols` / :func:`load_shipped` -- the five seed trials shipped with doseladder.

See ``docs/protocols.md``.
"""

from __future__ import annotations

from doseladder.protocols.loader import load_protocol, protocol_from_dict
from doseladder.protocols.model import (
    AssessmentWindows,
    Criterion,
    Indication,
    Protocol,
    ReviewItem,
)
from doseladder.protocols.schema import SCHEMA_VERSION
from doseladder.protocols.shipped import library_dir, list_protocols, load_shipped, shipped_path

__all__ = [
    "SCHEMA_VERSION",
    "AssessmentWindows",
    "Criterion",
    "Indication",
    "Protocol",
    "ReviewItem",
    "library_dir",
    "list_protocols",
    "load_protocol",
    "load_shipped",
    "protocol_from_dict",
    "shipped_path",
]
