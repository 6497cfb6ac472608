"""Settings and fixtures shared by the whole test suite.

Hypothesis' per-example ``deadline`` is a timed assertion: on a loaded machine a correct test
fails because an example took more than 200 ms.  Speed is measured in ``benchmarks/``, never in
unit tests, so the suite's profile switches the deadline off (examples stay random).

Audit signing keys and anchor files never touch the user's home directory.
"""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("doseladder", deadline=None, print_blob=True)
settings.load_profile("doseladder")


@pytest.fixture(autouse=True)
def _isolated_key_and_anchor_dirs(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Default audit signing key and anchor files go to a throw-away directory per test (so a
    key created by one test never signs another test's database)."""
    base = tmp_path_factory.mktemp("xdg")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(base / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(base / "state"))
    for name in (
        "DOSELADDER_AUDIT_KEY",
        "DOSELADDER_AUDIT_KEY_FILE",
        "DOSELADDER_AUDIT_ANCHORS",
        "DOSELADDER_AUDIT_ANCHOR_INTERVAL",
    ):
        monkeypatch.delenv(name, raising=False)
