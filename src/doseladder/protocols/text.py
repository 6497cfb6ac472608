"""Registry wording for display.

Criterion texts are kept verbatim from the registry (``Criterion.source_text``), which escapes
Markdown punctuation with a backslash (ClinicalTrials.gov: ``\\>=``, ``\\<``, ``10\\^9``).
:func:`display_text` removes those escapes for people to read; the stored text is unchanged.
"""

from __future__ import annotations

import re

__all__ = ["display_text"]

# a backslash before ASCII punctuation is a Markdown escape (CommonMark §2.4)
_ESCAPE = re.compile(r"\\([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")


def display_text(text: str) -> str:
    """``text`` without the registry's Markdown backslash escapes (``\\>=`` → ``>=``)."""
    return _ESCAPE.sub(r"\1", text)
