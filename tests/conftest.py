"""pytest configuration of tests/: the Hypothesis profile of the fuzz tests (tests/fuzzing.py)."""

from fuzzing import PROFILE, SCALE


def pytest_report_header(config):
    return (f"hypothesis profile: {PROFILE} (TERNARY_ACCEL_FUZZ=ci or long; each fuzz test's "
            f"CI example count x{SCALE[PROFILE]})")
