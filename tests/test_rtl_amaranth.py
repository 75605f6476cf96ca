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


def test_slow_sink_fills_the_result_queue_without_a_combinational_stall():
    """One K tile and M = 40 rows: every row is a result, so a sink that takes one beat in
    five fills the result queue and the credits hold the activations back."""
    rng = np.random.default_rng(13)
    cfg = AccelConfig(rows=4, cols=3)
    x = rng.integers(-128, 128, size=(40, 4))
    w = rng.integers(-1, 2, size=(5, 4))
    y, cycles = _simulate(cfg, x, w, stall=0.8, seed=6, probe_ready=True)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles > 2 * cfg.cycles(40, 4, 5)


@pytest.mark.parametrize("rows, m, seed", [(4, 2, 7), (5, 1, 8), (2, 3, 9)])
def test_idle_source_keeps_rows_apart_in_the_accumulator(rows, m, seed):
    """An activation source with gaps lets the rows of the next K tile follow the previous
    tile's closely; the admission logic must keep each row's accumulator visits 4 cycles
    apart (the accumulator has no forwarding)."""
    rng = np.random.default_rng(seed)
    cfg = AccelConfig(rows=rows, cols=2)
    x = rng.integers(-128, 128, size=(m, 12 * rows))
    w = rng.integers(-1, 2, size=(3, 12 * rows))
    y, _ = _simulate(cfg, x, w, idle=0.5, seed=seed)
    assert np.array_equal(y, golden.int_gemm(x, w))
