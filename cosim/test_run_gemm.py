"""run_gemm end to end: plain Python in, exact result and cycle count out, with M split into
several hardware jobs; and the int8 baseline through the same path. The ternary test uses the
configuration of the 4x3 top-level bench, so the Verilator build is shared with it.

Expected cycle counts are written out by hand from the cycle model in ``docs/interface.md``
(one row per weight beat: ``max(R + (T - 1) * max(M, 4), T * R) + M + R + 5`` per job), not
computed by the code under test.
"""

import numpy as np
import pytest

import golden
from cosim import run_gemm

CONFIG = dict(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)


def test_run_gemm_splits_m_and_matches_golden():
    rng = np.random.default_rng(2026)
    x = rng.integers(-128, 128, size=(40, 37)).astype(np.int8)
    w = rng.integers(-1, 2, size=(21, 37)).astype(np.int8)
    result = run_gemm(x, w, **CONFIG)
    assert result.y.dtype == np.int32 and result.y.shape == (40, 21)
    assert np.array_equal(result.y, golden.int_gemm(x, w))
    # M = 40 runs as jobs of 16, 16 and 8 rows; T = ceil(37/4) * ceil(21/3) = 10 * 7 = 70.
    # M = 16: 4 + 69 * 16 + 16 + 9 = 1133 cycles; M = 8: 4 + 69 * 8 + 8 + 9 = 573 (the
    # weights' 70 * 4 = 280 beats never bind).
    assert result.jobs == 3
    assert result.cycles == 1133 + 1133 + 573
    assert result.utilization == pytest.approx(40 * 37 * 21 / (4 * 3 * 2839), rel=1e-12)


def test_int8_baseline_matches_golden():
    """The int8 multiply-accumulate baseline runs through run_gemm bit-exactly (its weights
    were once packed as t5 and came back wrong without an error)."""
    x = np.array([[-69, 10, 3], [87, -128, 127]])
    w = np.array([[1, 0, -1], [-128, 127, 5]])
    result = run_gemm(x, w, rows=2, cols=2, weight_format="int8", pe="int8")
    expected = np.array([[-69 - 3, -69 * -128 + 10 * 127 + 3 * 5],
                         [87 - 127, 87 * -128 + -128 * 127 + 127 * 5]])
    assert np.array_equal(golden.int8_gemm(x, w), expected)
    assert np.array_equal(result.y, expected)
    rng = np.random.default_rng(58)
    x = rng.integers(-128, 128, size=(5, 9))
    w = rng.integers(-128, 128, size=(7, 9))
    assert np.array_equal(run_gemm(x, w, rows=2, cols=2, pe="int8").y, golden.int8_gemm(x, w))
