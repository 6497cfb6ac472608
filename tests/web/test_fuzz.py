"""Fuzz the JSON API with schemathesis against its own OpenAPI document (in-process ASGI).

Valid and invalid requests (per the schema) are generated for every operation and sent with a
statistician's token over a populated SQLite database.  Every response must be documented and
conform to its schema, never be a 5xx, and requests that break the schema must get a 4xx.
The number of examples is bounded so the run takes well under a minute.
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
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        negative_data_rejection,
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
]


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


def _fuzz(operation: Any, mode: Any, headers: dict[str, str], statuses: set[int]) -> None:
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
        response = case.call_and_validate(headers=headers, checks=CHECKS)
        statuses.add(response.status_code)

    run()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_api_never_fails_on_any_input(fuzz_target: dict[str, Any]) -> None:
    schema = fuzz_target["schema"]
    headers = {"Authorization": f"Bearer {fuzz_target['token']}"}
    failures: list[str] = []
    statuses: dict[str, set[int]] = {}
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) > 40
    for operation in operations:
        if operation.path.endswith("/auth/logout"):
            continue  # would revoke the fuzzing token
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _fuzz(operation, mode, headers, statuses.setdefault(operation.label, set()))
            except Exception as exc:  # collect every operation's first failure
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {exc}")
    assert not failures, "\n\n".join(failures)
    # the token works: most operations were reached and answered successfully at least once
    succeeded = [label for label, codes in statuses.items() if any(c < 300 for c in codes)]
    assert len(succeeded) >= 20, statuses
    assert all(c < 500 for codes in statuses.values() for c in codes)
