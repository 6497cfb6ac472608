"""Sticky stops: which recorded stop keeps which indication closed (rule text cases and
properties over random decision histories)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from doseladder.core.rules.sticky_stops import (
    STOPPED_RULE,
    RecordedDecision,
    describe_sticky_stops,
    driving_stop_closes_others,
    is_stop,
    stop_message,
    stops_in_force,
)


def dec(
    seq: int,
    ind: str | None,
    *,
    source: str = "design",
    status: str = "closed",
    rule: str = "boin.max_n_reached",
    closes_others: bool = False,
) -> RecordedDecision:
    return RecordedDecision(
        id=100 + seq,
        seq=seq,
        indication=ind,
        source=source,
        status=status,
        rule=rule,
        message="m",
        closes_others=closes_others,
    )


KEYS = ("D", "O")


def applies(stops: tuple[dict[str, object], ...]) -> dict[object, object]:
    return {s["applies_to"]: (s["scope"], s["seq"]) for s in stops}


def test_own_stop_then_override_lifts_it() -> None:
    assert applies(stops_in_force([dec(1, "D")], KEYS, "D")) == {"D": ("own", 1)}
    lifted = [dec(1, "D"), dec(2, "D", source="override", status="enrol", rule="override")]
    assert stops_in_force(lifted, KEYS, "D") == ()
    again = [*lifted, dec(3, "D")]
    assert applies(stops_in_force(again, KEYS, "D")) == {"D": ("own", 3)}


def test_driving_stop_closes_others_only_by_policy() -> None:
    assert applies(stops_in_force([dec(1, "D", closes_others=True)], KEYS, "D")) == {
        "D": ("own", 1),
        "O": ("driving", 1),
    }
    assert "O" not in applies(stops_in_force([dec(1, "D")], KEYS, "D"))


def test_trial_wide_cap_closes_everybody_and_wait_is_never_a_stop() -> None:
    cap = dec(1, "O", rule="plan.max_total_reached")
    assert applies(stops_in_force([cap], KEYS, "D")) == {"D": ("trial", 1), "O": ("own", 1)}
    assert not is_stop(dec(1, "D", status="wait"))
    assert not is_stop(dec(1, "D", rule=STOPPED_RULE))
    assert not is_stop(dec(1, "D", source="override"))


def test_pooled_key() -> None:
    assert applies(stops_in_force([dec(1, None)], (None,), None)) == {None: ("own", 1)}


def test_driving_policy() -> None:
    assert driving_stop_closes_others({"action": "stop", "next_dose": None}, True)
    assert not driving_stop_closes_others({"action": "stop", "next_dose": 2}, True)
    assert driving_stop_closes_others({"action": "stop", "next_dose": 2}, False)
    assert not driving_stop_closes_others({"action": "escalate"}, False)
    assert not driving_stop_closes_others(None, False)


decisions = st.lists(
    st.tuples(
        st.sampled_from(["D", "O"]),
        st.sampled_from(["design", "override"]),
        st.sampled_from(["enrol", "wait", "closed"]),
        st.booleans(),
    ),
    max_size=10,
)


@given(decisions)
def test_properties(raw: list[tuple[str, str, str, bool]]) -> None:
    hist = [
        dec(i + 1, ind, source=src, status=status, closes_others=co)
        for i, (ind, src, status, co) in enumerate(raw)
    ]
    stops = stops_in_force(hist, KEYS, "D")
    assert len({s["applies_to"] for s in stops}) == len(stops)
    for s in stops:
        cited = next(d for d in hist if d.id == s["decision_id"])
        assert is_stop(cited)
        # no override of the key it applies to after it
        assert not any(
            d.source == "override" and d.indication == s["applies_to"] and d.seq >= cited.seq
            for d in hist
        )
        assert "#" + str(cited.id) in stop_message(s, "enrol", "A", "r")
    # a key whose latest decision is a design stop is always closed
    for key in KEYS:
        mine = [d for d in hist if d.indication == key]
        if mine and is_stop(mine[-1]):
            assert key in {s["applies_to"] for s in stops}


def test_describes_itself() -> None:
    assert "override" in describe_sticky_stops()
