"""Every API operation with a valid request and the roles allowed to make it.

Used by the role tests (every other role must get 403 and change nothing) and the
authentication tests (no token: 401).  Paths and bodies are templates filled from the scene.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ALL = frozenset({"admin", "statistician", "investigator", "data_manager", "monitor"})
TRIAL_MANAGERS = frozenset({"admin", "statistician"})
DATA_ENTRY = frozenset({"investigator", "data_manager"})
EXPORTERS = frozenset({"admin", "statistician", "data_manager", "monitor"})
AUDITORS = frozenset({"admin", "statistician", "monitor"})
#: propose a DLT call again
OUTCOME_CALLS = frozenset({"investigator", "data_manager", "statistician"})
#: confirm/override a proposed response: a clinician (investigator) or the statistician
RESPONSE_CALLS = frozenset({"investigator", "statistician"})


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    body: dict[str, Any] | None
    allowed: frozenset[str]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


def operations(v: dict[str, Any]) -> list[Op]:
    """The operations with ids taken from ``v`` (scene ids, site/user ids, today)."""
    today = v["today"]
    t = v["trial_id"]
    return [
        Op("GET", "/auth/me", None, ALL),
        Op("GET", "/sites", None, ALL),
        Op("POST", "/sites", {"code": "SC", "name": "Site C"}, frozenset({"admin"})),
        Op("POST", f"/sites/{v['site_b']}/deactivate", {"reason": "closed"}, frozenset({"admin"})),
        Op("GET", "/users", None, frozenset({"admin"})),
        Op(
            "POST",
            "/users",
            {"username": "newbie", "password": "long enough pw", "role": "monitor"},
            frozenset({"admin"}),
        ),
        Op(
            "POST", f"/users/{v['monitor_id']}/deactivate", {"reason": "left"}, frozenset({"admin"})
        ),
        Op(
            "POST",
            f"/users/{v['dm_a_id']}/password",
            {"new_password": "another long pw"},
            frozenset({"admin"}),
        ),
        Op("GET", "/users/access-review", None, frozenset({"admin"})),
        Op(
            "POST",
            f"/users/{v['dm_a_id']}/role",
            {"role": "monitor", "reason": "moved to monitoring"},
            frozenset({"admin"}),
        ),
        Op("POST", f"/users/{v['dm_a_id']}/reviewed", {"note": "ok"}, frozenset({"admin"})),
        Op("GET", "/protocols", None, ALL),
        Op("GET", "/trials", None, ALL),
        Op(
            "POST",
            "/trials",
            {"code": "NEW1", "title": "New", "shipped_protocol": "hn2301-nct06801119"},
            TRIAL_MANAGERS,
        ),
        Op("GET", f"/trials/{t}", None, ALL),
        Op("POST", f"/trials/{v['draft_id']}/open", {}, TRIAL_MANAGERS),
        Op("GET", f"/trials/{v['draft_id']}/opening-checklist", None, ALL),
        Op(
            "POST",
            f"/trials/{v['draft_id']}/opening-acknowledgements",
            {"item": "placeholder:dose DL1#0000000000", "reason": "sponsor letter"},
            TRIAL_MANAGERS,
        ),
        Op("POST", f"/trials/{t}/suspend", {"reason": "safety review"}, TRIAL_MANAGERS),
        Op("POST", f"/trials/{t}/resume", {"reason": "review done"}, TRIAL_MANAGERS),
        Op("POST", f"/trials/{t}/close", {"reason": "stopped"}, TRIAL_MANAGERS),
        Op(
            "POST",
            f"/trials/{t}/clock",
            {"days": 1, "reason": "rehearsal"},
            frozenset({"admin"}),
        ),
        Op("GET", f"/trials/{t}/sites", None, ALL),
        Op("POST", f"/trials/{v['draft_id']}/sites", {"site_id": v["site_a"]}, TRIAL_MANAGERS),
        Op("GET", f"/trials/{t}/protocol-versions", None, ALL),
        Op(
            "POST",
            f"/trials/{t}/protocol-versions",
            {"protocol": v["protocol"], "reason": "amendment 1"},
            TRIAL_MANAGERS,
        ),
        Op("GET", f"/trials/{t}/patients", None, ALL),
        Op(
            "POST",
            f"/trials/{t}/patients",
            {"site_id": v["site_a"], "screening": {"screened_on": today, "eligible": True}},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/trials/{t}/screening-report",
            {"record": v["record"], "screening_date": today},
            DATA_ENTRY,
        ),
        Op("GET", f"/patients/{v['enrolled']}", None, ALL),
        Op(
            "POST",
            f"/patients/{v['other_site']}/screening",
            {"screened_on": today, "eligible": True},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/screening/{v['screening_id']}/correct",
            {"changes": {"notes": "checked"}, "reason": "source data verification"},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/patients/{v['waiting']}/enrol",
            {"dose_level": 1, "infusion_date": today},
            frozenset({"investigator"}),
        ),
        Op(
            "POST",
            f"/enrolments/{v['enrolment_id']}/correct",
            {"changes": {"infusion_date": today}, "reason": "typo in the date"},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/enrolments/{v['enrolment_id']}/infusion",
            {"infusion_date": today},
            DATA_ENTRY,
        ),
        Op("POST", f"/enrolments/{v['enrolment_id']}/void", {"reason": "error"}, DATA_ENTRY),
        Op("GET", f"/patients/{v['enrolled']}/adverse-events", None, ALL),
        Op(
            "POST",
            f"/patients/{v['enrolled']}/adverse-events",
            {"term": "headache", "grade": 1, "onset_date": today},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/adverse-events/{v['ae_id']}/correct",
            {"changes": {"grade": 2}, "reason": "regraded"},
            DATA_ENTRY,
        ),
        Op("POST", f"/adverse-events/{v['ae_id']}/void", {"reason": "duplicate"}, DATA_ENTRY),
        Op("GET", f"/patients/{v['enrolled']}/efficacy", None, ALL),
        Op(
            "POST",
            f"/patients/{v['enrolled']}/efficacy",
            {"assessed_on": today, "instrument": "SRI-4", "responder": True},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/efficacy/{v['efficacy_id']}/correct",
            {"changes": {"responder": True}, "reason": "rescored"},
            DATA_ENTRY,
        ),
        Op("POST", f"/efficacy/{v['efficacy_id']}/void", {"reason": "wrong patient"}, DATA_ENTRY),
        Op("GET", "/ctcae-terms", None, ALL),
        Op("GET", f"/patients/{v['enrolled']}/lymphodepletion", None, ALL),
        Op(
            "POST",
            f"/patients/{v['enrolled']}/lymphodepletion",
            {"agent": "fludarabine", "given_on": today, "dose": 25},
            DATA_ENTRY,
        ),
        # the scene's design file has no regimen: refused roles are refused before the record
        # is looked up (allowed roles: tests/web/test_api_lymphodepletion.py)
        Op(
            "POST",
            f"/lymphodepletion/{v.get('lymphodepletion_id', 1)}/correct",
            {"changes": {"dose": 27.5}, "reason": "transcription"},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/lymphodepletion/{v.get('lymphodepletion_id', 1)}/void",
            {"reason": "wrong patient"},
            DATA_ENTRY,
        ),
        Op(
            "POST",
            f"/patients/{v['enrolled']}/efficacy-assessments",
            {"assessed_on": today, "instrument": "PGA", "components": {"pga": 1}},
            DATA_ENTRY,
        ),
        Op("POST", f"/efficacy/{v['efficacy_id']}/confirm", {}, RESPONSE_CALLS),
        Op(
            "POST",
            f"/efficacy/{v['efficacy_id']}/override",
            {"responder": True, "reason": "reviewed"},
            RESPONSE_CALLS,
        ),
        Op("GET", f"/patients/{v['enrolled']}/dlt-proposals", None, ALL),
        Op("POST", f"/patients/{v['enrolled']}/dlt-proposals", None, OUTCOME_CALLS),
        Op("POST", f"/dlt-proposals/{v['proposal_id']}/confirm", {}, frozenset({"statistician"})),
        Op(
            "POST",
            f"/dlt-proposals/{v['proposal_id']}/override",
            {"is_dlt": True, "reason": "reviewed"},
            frozenset({"statistician"}),
        ),
        Op("GET", f"/patients/{v['enrolled']}/dlt-adjudications", None, ALL),
        Op(
            "POST",
            f"/patients/{v['enrolled']}/dlt-adjudications",
            {"is_dlt": True, "adverse_event_id": v["ae_id"], "rationale": "grade 3 rash"},
            frozenset({"statistician"}),
        ),
        Op(
            "POST",
            f"/dlt-adjudications/{v['adjudication_id']}/correct",
            {"changes": {"rationale": "reviewed again"}, "reason": "SRC"},
            frozenset({"statistician"}),
        ),
        Op(
            "POST",
            f"/dlt-adjudications/{v['adjudication_id']}/void",
            {"reason": "entered in error"},
            frozenset({"statistician"}),
        ),
        Op("GET", f"/trials/{t}/recommendation", None, ALL),
        Op("GET", f"/trials/{t}/slots", None, ALL),
        Op("GET", f"/trials/{t}/decisions", None, ALL),
        Op("POST", f"/trials/{t}/decisions", {}, frozenset({"statistician", "investigator"})),
        Op(
            "POST",
            f"/trials/{t}/decisions/override",
            {"dose_level": 1, "reason": "clinical judgement"},
            frozenset({"statistician"}),
        ),
        Op("GET", f"/decisions/{v['decision_id']}", None, ALL),
        Op(
            "POST",
            f"/decisions/{v['decision_id']}/signoff",
            {"approve": True, "comment": "approved", "password": "x", "printed_name": "Dr X"},
            TRIAL_MANAGERS,
        ),
        Op("GET", f"/decisions/{v['decision_id']}/replay", None, ALL),
        Op("GET", f"/trials/{t}/end-of-trial", None, ALL),
        Op(
            "POST",
            f"/trials/{t}/final-selection",
            None,
            frozenset({"statistician"}),
        ),
        Op(
            "POST",
            "/final-selections/999999/sign",
            {"password": "x", "printed_name": "Dr X"},
            TRIAL_MANAGERS,
        ),
        Op("GET", "/audit/verify", None, AUDITORS),
        Op("GET", "/audit/certified-copy", None, AUDITORS),
        Op("GET", "/audit/events", None, AUDITORS),
        Op("GET", f"/trials/{v['trial_id']}/exports/tables.zip", None, EXPORTERS),
        Op("GET", f"/trials/{t}/datasets/DM", None, EXPORTERS),
        Op("GET", f"/trials/{t}/datasets/DM/csv", None, EXPORTERS),
        Op("POST", "/auth/logout", None, ALL),
    ]
