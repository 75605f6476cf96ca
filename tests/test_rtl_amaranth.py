"""The top level in Amaranth's own simulator (no Verilator): a quick check of the RTL that
runs with the fast tests. The cocotb benches in ``cosim/`` are the full verification."""

import numpy as np
import pytest

import golden
from cosim.layout import JobLayout
from rtl.config import AccelConfig

from amaranth_job import simulate_job


def _simulate(cfg, x, w, **traffic):
    layout = JobLayout(cfg, x.shape[0], x.shape[1], w.shape[0])
    return simulate_job(cfg, x, w.shape[0], layout.weight_words(w), **traffic)


@pytest.mark.parametrize("rows, cols, fmt, m, k, n", [
    (4, 3, "i2", 5, 9, 7), (1, 1, "i2", 1, 1, 1), (2, 5, "t5", 3, 4, 11), (3, 3, "t5", 1, 7, 3),
])
def test_gemm_matches_golden_and_cycle_model(rows, cols, fmt, m, k, n):
    rng = np.random.default_rng(11)
    cfg = AccelConfig(rows=rows, cols=cols, weight_format=fmt)
    x = rng.integers(-128, 128, size=(m, k))
    w = rng.integers(-1, 2, size=(n, k))
    y, cycles = _simulate(cfg, x, w)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles == cfg.cycles(m, k, n)


def test_idle_sources_and_stalled_sink():
    rng = np.random.default_rng(12)
    cfg = AccelConfig(rows=3, cols=4)
    x = rng.integers(-128, 128, size=(6, 10))
    w = rng.integers(-1, 2, size=(9, 10))
    y, cycles = _simulate(cfg, x, w, idle=0.3, stall=0.3, seed=5)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles > cfg.cycles(6, 10, 9)
