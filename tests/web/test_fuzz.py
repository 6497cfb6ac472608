"""Fuzz the JSON API with schemathesis against its own OpenAPI document (in-process ASGI).

Valid and invalid requests (per the schema) are generated for every operation and sent with a
statistician's token over a populated SQLite database.  Every response must be documented and
conform to its schema, never be a 5xx, and requests that break the schema must get a 4xx.

The OpenAPI document must state the validation the server enforces: a request the schema
allows is never refused by request validation (schemathesis ST202, ``positive_data_acceptance``),
and a 405 lists in ``Allow`` exactly the methods the document declares for the path (ST205,
``allow_header_conformance``).  The only refusals of schema-valid requests tolerated are the
services' rules that depend on the trial's state or on today's date (:data:`STATE_RULES`,
each named by operation and field): an unknown id is a 404 and is always allowed.
The number of examples is bounded so the run takes a few minutes at most.
"""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from doseladder.conduct import Database
from doseladder.conduct.services import sites_users
from doseladder.web import create_app

from ..conduct.conftest import make_world
from .conftest import PASSWORD, Clock, make_scene

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import Failure, FailureGroup
    from schemathesis.specs.openapi.checks import (
        allow_header_conformance,
        content_type_conformance,
        negative_data_rejection,
        positive_data_acceptance,
        response_schema_conformance,
        status_code_conformance,
    )

EXAMPLES = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    positive_data_acceptance,
]

#: refusals (422) of schema-valid requests by a service rule that no static schema can state:
#: (operation, field named in the refusal) → why
STATE_RULES: dict[tuple[str, str], str] = {
    ("POST /api/v1/trials/{trial_id}/sites", "site_id"): "a site id that does not exist",
    ("POST /api/v1/patients/{patient_id}/dlt-adjudications", "onset_date"): (
        "a DLT onset after today or before the patient's consent"
    ),
    ("POST /api/v1/dlt-adjudications/{adjudication_id}/correct", "changes"): (
        "the changes equal the recorded values"
    ),
    ("POST /api/v1/dlt-adjudications/{adjudication_id}/correct", "onset_date"): (
        "an onset date for a call that is not a DLT"
    ),
    ("POST /api/v1/dlt-proposals/{proposal_id}/confirm", "proposal_id"): (
        "a proposal with no call to confirm"
    ),
    ("POST /api/v1/users/{user_id}/password", "old_password"): "a wrong current password",
    ("POST /api/v1/trials", "protocol"): "a protocol document the protocol schema refuses",
    ("POST /api/v1/trials", "efficacy_window_days"): (
        "an efficacy window for a protocol whose design has no efficacy endpoint"
    ),
    ("POST /api/v1/trials", "dlt_window_days"): (
        "a DLT window other than the one the protocol's design sets"
    ),
    ("POST /api/v1/trials", "epoch"): "an epoch outside the range around today's date",
    ("POST /api/v1/trials/{trial_id}/protocol-versions", "protocol"): (
        "a protocol document the protocol schema refuses"
    ),
    ("POST /api/v1/trials/{trial_id}/opening-acknowledgements", "item"): (
        "an item that is not in the trial's current protocol"
    ),
    ("POST /api/v1/patients/{patient_id}/lymphodepletion", "agent"): (
        "an agent that is not in the protocol's regimen (or no regimen)"
    ),
    ("POST /api/v1/patients/{patient_id}/lymphodepletion", "given_on"): (
        "a date before consent, in the future or outside the regimen's window"
    ),
    ("POST /api/v1/patients/{patient_id}/lymphodepletion", "dose"): (
        "a dose outside the regimen's plausible band or with more than 4 decimals"
    ),
    ("POST /api/v1/patients/{patient_id}/lymphodepletion", "unit"): "not the agent's unit",
    ("POST /api/v1/patients/{patient_id}/enrol", "dose_level"): (
        "a dose other than the latest decision's (escalation, where a dose is required) or "
        "than the backfill rule's (a dose given for a backfill rule drawn at random)"
    ),
}
#: free-form JSON bodies: the document states the no-control-character rule two levels deep
#: (``schemas.JSON_OBJECT_SCHEMA``), the server checks every level
FREE_JSON = {
    ("POST /api/v1/trials", "body.protocol"),
    ("POST /api/v1/trials/{trial_id}/protocol-versions", "body.protocol"),
    ("POST /api/v1/trials/{trial_id}/screening-report", "body.record"),
    ("POST /api/v1/patients/{patient_id}/efficacy", "body.measures"),
    ("POST /api/v1/patients/{patient_id}/efficacy-assessments", "body.components"),
    ("POST /api/v1/efficacy/{assessment_id}/correct", "body.changes.measures"),
}


@pytest.fixture(scope="module")
def fuzz_target(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Any]]:
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    shutil.copyfile(sqlite_template, path)
    clock = Clock()
    db = Database(f"sqlite:///{path}", clock=clock)
    world = make_world(db, clock)
    make_scene(world)
    token = db.run(lambda s: sites_users.login(s, "stat", PASSWORD, ttl=None)).token
    app = create_app(db, secret=b"fuzz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield {"schema": schema, "token": token, "db": db}
    db.dispose()


def _state_rule(operation: Any, response: Any, exc: Exception) -> str | None:
    """The :data:`STATE_RULES` entry excusing this failure, if it is only an ST202 from such
    a service rule (request validation -- a body with ``errors`` -- is never excused)."""
    failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
    if not all(isinstance(f, Failure) and f.code == "ST202" for f in failures):
        return None
    if response.status_code != 422:
        return None
    body = response.json()
    key = (operation.label, str(body.get("field")))
    if "errors" in body:  # request validation: only a control character deep in free JSON
        if key in FREE_JSON and "control characters" in str(body.get("reason")):
            return "a control character nested deeper than the document states"
        return None
    # a rule on a document names the field inside it (``protocol.schema_version``)
    return STATE_RULES.get(key) or STATE_RULES.get((key[0], key[1].split(".")[0]))


def _fuzz(
    operation: Any, mode: Any, headers: dict[str, str], statuses: set[int], excused: set[str]
) -> None:
    """Run the generated cases of one operation in one mode (raises the first failure)."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    def run(case: Any) -> None:
        response = case.call(headers=headers)
        statuses.add(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Failure, FailureGroup) as exc:
            rule = _state_rule(operation, response, exc)
            if rule is None:
                raise
            excused.add(f"{operation.label} {response.json().get('field')}: {rule}")

    run()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_api_never_fails_on_any_input(fuzz_target: dict[str, Any]) -> None:
    schema = fuzz_target["schema"]
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    excused: set[str] = set()
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        if operation.path.endswith("/auth/logout"):
            continue  # would revoke the fuzzing token
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(
                    operation, mode, headers, statuses.setdefault(operation.label, set()), excused
                )
            except (Exception, FailureGroup) as exc:  # every operation's first failure
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
    print("schema-valid requests refused by a state rule:", *sorted(excused), sep="\n  ")
    # the token works: most operations were reached and answered successfully at least once
    succeeded = [label for label, codes in statuses.items() if any(c < 300 for c in codes)]
    assert len(succeeded) >= 20, statuses
    assert all(c < 500 for codes in statuses.values() for c in codes)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_405_lists_the_documented_methods(fuzz_target: dict[str, Any]) -> None:
    """ST205: an OPTIONS (or any undeclared method) on every documented path answers 405 with
    ``Allow`` naming exactly the methods the OpenAPI document declares there."""
    schema = fuzz_target["schema"]
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    paths: dict[str, Any] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        paths.setdefault(operation.path, operation)
    failures: list[str] = []
    several = 0
    for path, operation in paths.items():
        case = operation.Case(path_parameters=dict.fromkeys(_path_names(path), 1))
        case.method = "OPTIONS"
        response = case.call(headers=headers)
        assert response.status_code == 405, (path, response.status_code)
        several += "," in response.headers["allow"][0]
        try:
            case.validate_response(response, checks=[allow_header_conformance])
        except (Failure, FailureGroup) as exc:
            failures.append(f"OPTIONS {path}: {exc}")
    assert not failures, "\n".join(failures)
    assert several >= 5  # paths with GET and POST say both


def _path_names(path: str) -> list[str]:
    import re

    return re.findall(r"{([^}]+)}", path)
