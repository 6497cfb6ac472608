"""``_common.json_mapping``: a JSON mapping with string keys, at most 20,000 characters as
canonical JSON (the canonical text is built once for both checks)."""

from __future__ import annotations

import math
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from doseladder.conduct import audit
from doseladder.conduct.errors import ValidationError
from doseladder.conduct.services import _common as c

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=30)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=30,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_a_json_mapping_is_kept_as_jsonable(value: dict[str, Any]) -> None:
    assert c.json_mapping("f", value) == audit.jsonable(value)


def test_none_and_refusals() -> None:
    assert c.json_mapping("f", None) is None
    for bad in ([1, 2], "text", 3):
        with pytest.raises(ValidationError, match="mapping") as info:
            c.json_mapping("f", bad)
        assert info.value.field == "f"
    with pytest.raises(ValidationError, match="only JSON values") as info:
        c.json_mapping("f", {"x": math.nan})
    assert info.value.field == "f"


def test_the_size_limit_is_on_the_canonical_text() -> None:
    def of_length(n: int) -> dict[str, Any]:
        value = {"k": ""}
        value["k"] = "x" * (n - len(audit.canonical_json(value)))
        assert len(audit.canonical_json(value)) == n
        return value

    assert c.json_mapping("f", of_length(20_000)) == of_length(20_000)
    with pytest.raises(ValidationError, match="too large") as info:
        c.json_mapping("f", of_length(20_001))
    assert info.value.field == "f"
    # what jsonable turns into text counts as that text
    assert c.json_mapping("f", {"d": date(2025, 3, 3), "n": Decimal("1.5")}) == audit.jsonable(
        {"d": date(2025, 3, 3), "n": Decimal("1.5")}
    )
