"""Hypothesis profiles of the property tests (``tests/test_fuzz_*.py``), loaded by
``tests/conftest.py``.

``ci`` (the default) runs each test's bounded example count, derandomized: the examples
depend only on the test, so a failure replays with the same command. ``long`` runs
:data:`SCALE` times more examples from a random seed; Hypothesis prints a failure's seed
(``--hypothesis-seed=N`` replays it) and the failing example. Select it with
``TERNARY_ACCEL_FUZZ=long``.
"""

import os

from hypothesis import HealthCheck, settings

__all__ = ["PROFILE", "SCALE", "examples"]

#: Examples per test in a profile = the test's CI count times this factor.
SCALE = {"ci": 1, "long": 50}

PROFILE = os.environ.get("TERNARY_ACCEL_FUZZ", "ci")
if PROFILE not in SCALE:
    raise ValueError(f"TERNARY_ACCEL_FUZZ must be one of {', '.join(SCALE)}, not {PROFILE!r}")

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                      HealthCheck.function_scoped_fixture])
settings.register_profile("ci", derandomize=True, **_COMMON)
settings.register_profile("long", derandomize=False, **_COMMON)
settings.load_profile(PROFILE)


def examples(ci_count):
    """``settings`` of a test that draws ``ci_count`` examples in CI (more in ``long``)."""
    return settings(max_examples=ci_count * SCALE[PROFILE])
