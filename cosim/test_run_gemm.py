"""run_gemm end to end: plain Python in, exact result and cycle count out, with M split into
several hardware jobs. Uses the configuration of the 4x3 top-level bench, so the Verilator
build is shared with it."""

import numpy as np

import golden
from cosim import run_gemm
from rtl.config import AccelConfig

CONFIG = dict(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)


def test_run_gemm_splits_m_and_matches_golden():
    rng = np.random.default_rng(2026)
    x = rng.integers(-128, 128, size=(40, 37)).astype(np.int8)
    w = rng.integers(-1, 2, size=(21, 37)).astype(np.int8)
    result = run_gemm(x, w, **CONFIG)
    assert result.y.dtype == np.int32 and result.y.shape == (40, 21)
    assert np.array_equal(result.y, golden.int_gemm(x, w))
    cfg = AccelConfig(**CONFIG)
    assert result.jobs == 3
    assert result.cycles == 2 * cfg.cycles(16, 37, 21) + cfg.cycles(8, 37, 21)
    assert abs(result.utilization - cfg.utilization(40, 37, 21, result.cycles)) < 1e-12
