"""Registry wording for display: Markdown escapes removed, nothing else touched."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doseladder.protocols import load_shipped
from doseladder.protocols.text import display_text


def test_registry_escapes_are_removed() -> None:
    assert display_text(r"platelet count \< 50×10\^9/L") == "platelet count < 50×10^9/L"
    assert display_text(r"eGFR \>= 60 and IgA \<10 mg/dL") == "eGFR >= 60 and IgA <10 mg/dL"
    assert display_text(r"a \\ b") == "a \\ b"  # an escaped backslash is one backslash
    assert display_text(r"C:\path and 5\ mg") == r"C:\path and 5\ mg"  # not punctuation


def test_no_shipped_criterion_shows_an_escape() -> None:
    protocol = load_shipped("str-p004-nct07143617")
    raw = [c.source_text for c in protocol.criteria if "\\" in c.source_text]
    assert raw, "the seed record has escaped signs"
    for text in raw:
        shown = display_text(text)
        assert "\\<" not in shown and "\\>" not in shown and "\\^" not in shown


@given(st.text(alphabet=st.characters(blacklist_characters="\\")))
def test_text_without_backslashes_is_unchanged(text: str) -> None:
    assert display_text(text) == text
