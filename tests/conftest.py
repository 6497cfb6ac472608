"""Settings shared by the whole test suite.

Hypothesis' per-example ``deadline`` is a timed assertion: on a loaded machine a correct test
fails because an example took more than 200 ms.  Speed is measured in ``benchmarks/``, never in
unit tests, so the suite's profile switches the deadline off (examples stay random).
"""

from __future__ import annotations

from hypothesis import settings

settings.register_profile("doseladder", deadline=None, print_blob=True)
settings.load_profile("doseladder")
