"""cocotb bench of the accelerator top level: every GEMM checked bit-exactly against
``golden.int_gemm``, and its cycle count against the manifest's cycle model.

Run by ``pytest cosim/test_top.py``; one Verilator build per configuration below.
"""

import math

import numpy as np
import pytest

import cocotb

import golden
from rtl.config import AccelConfig

from .bench import bench_config, bench_rng, run_bench, start_clock
from .driver import AccelDriver, random_pattern


# ---- cocotb side --------------------------------------------------------------------------

async def _driver(dut):
    config = AccelConfig(**bench_config())
    start_clock(dut)
    driver = AccelDriver(dut, config)
    await driver.reset()
    return driver


def _check(dut, label, x, w, result):
    expected = golden.int_gemm(x, w)
    if not np.array_equal(result.y, expected):
        bad = np.argwhere(result.y != expected)[0]
        raise AssertionError(f"{label}: Y{list(bad)} = {result.y[tuple(bad)]}, golden "
                             f"{expected[tuple(bad)]} ({len(np.argwhere(result.y != expected))}"
                             f" of {expected.size} elements differ)")
    dut._log.info("%s: M=%d K=%d N=%d exact, %d cycles, utilization %.3f", label,
                  x.shape[0], x.shape[1], w.shape[0], result.cycles, result.utilization)


@cocotb.test()
@cocotb.parametrize(activation=[-128, 127, 0, "alternating"], weight=[-1, 0, 1, "mixed"])
async def extremes(dut, activation, weight):
    """Extreme operands on a job with ragged K and N: every activation -128 or +127 or zero,
    every weight -1, 0 or +1 (the largest sums of both signs)."""
    driver = await _driver(dut)
    cfg = driver.config
    m, k, n = 3, 2 * cfg.rows + 1, cfg.cols + 1
    if activation == "alternating":
        x = np.where(np.arange(m * k).reshape(m, k) % 2, 127, -128)
    else:
        x = np.full((m, k), activation)
    if weight == "mixed":
        w = np.where(np.arange(n * k).reshape(n, k) % 3 == 0, -1, 1)
    else:
        w = np.full((n, k), weight)
    result = await driver.gemm(x, w)
    _check(dut, f"x={activation} w={weight}", x, w, result)


SHAPES = [(1, 1, 1), (1, 7, 5), (2, 3, 9), (5, 16, 6), (1, 20, 1), (9, 5, 13), (4, 12, 12),
          (3, 130, 70)]


@cocotb.test()
@cocotb.parametrize(shape=SHAPES)
async def cycle_model(dut, shape):
    """Random GEMMs of assorted shapes (M = 1, ragged K and N): bit-exact results and a cycle
    count equal to ``AccelConfig.cycles`` with sources always valid and sinks always ready."""
    driver = await _driver(dut)
    cfg = driver.config
    np_rng, _ = bench_rng(dut, f"cycle_model{shape}")
    m, k, n = shape
    m = min(m, cfg.max_m)
    x = np_rng.integers(-128, 128, size=(m, k))
    w = np_rng.integers(-1, 2, size=(n, k))
    result = await driver.gemm(x, w)
    _check(dut, f"shape {shape}", x, w, result)
    assert result.cycles == cfg.cycles(m, k, n), \
        f"{result.cycles} cycles simulated, cycle model says {cfg.cycles(m, k, n)}"


@cocotb.test()
@cocotb.parametrize(idle=[0.0, 0.4], stall=[0.0, 0.4])
async def random_traffic(dut, idle, stall):
    """Random GEMMs with random idle cycles on both sources and random backpressure on the
    result sink: results stay exact; with neither, the cycle model holds."""
    driver = await _driver(dut)
    cfg = driver.config
    np_rng, py_rng = bench_rng(dut, f"random_traffic idle={idle} stall={stall}")
    for _ in range(3):
        m = int(np_rng.integers(1, 2 * cfg.max_m + 1)) if cfg.max_m < 16 else \
            int(np_rng.integers(1, 3 * cfg.rows + 2))
        k = int(np_rng.integers(1, 3 * cfg.rows + 2))
        n = int(np_rng.integers(1, 3 * cfg.cols + 2))
        x = np_rng.integers(-128, 128, size=(m, k))
        w = np_rng.integers(-1, 2, size=(n, k))
        result = await driver.gemm(
            x, w,
            weight_pattern=random_pattern(py_rng, 1 - idle),
            activation_pattern=random_pattern(py_rng, 1 - idle),
            result_pattern=random_pattern(py_rng, 1 - stall))
        _check(dut, f"idle={idle} stall={stall}", x, w, result)
        if idle == 0 and stall == 0 and result.jobs == 1:
            assert result.cycles == cfg.cycles(m, k, n)
        if result.jobs > 1:
            assert result.jobs == math.ceil(m / cfg.max_m)


@cocotb.test()
async def reset_mid_job(dut):
    """A reset in the middle of a job, with beats in flight everywhere, then a correct job."""
    driver = await _driver(dut)
    cfg = driver.config
    np_rng, _ = bench_rng(dut, "reset_mid_job")
    m, k, n = min(cfg.max_m, 2 * cfg.rows), 2 * cfg.rows + 1, 2 * cfg.cols
    x = np_rng.integers(-128, 128, size=(m, k))
    w = np_rng.integers(-1, 2, size=(n, k))
    for fraction in (0.3, 0.7):
        _, ran = await driver.run_job(x, w, stop_after=int(cfg.cycles(m, k, n) * fraction))
        await driver.reset(cycles=1)
        assert not dut.busy.value, "busy after reset"
    result = await driver.gemm(x, w)
    _check(dut, "after reset", x, w, result)
    assert result.cycles == cfg.cycles(m, k, n)


@cocotb.test()
async def command_errors(dut):
    """Sizes of zero or beyond the configured maxima set ``cmd_error`` and start nothing."""
    driver = await _driver(dut)
    cfg = driver.config
    for m, k, n in ((0, 1, 1), (1, 0, 1), (1, 1, 0)) + (
            ((cfg.max_m + 1, 1, 1),) if cfg.max_m + 1 < (1 << cfg.m_bits) else ()):
        await driver.start_job(m, k, n)
        await cocotb.triggers.ReadOnly()
        assert dut.cmd_error.value == 1 and dut.busy.value == 0, f"sizes {(m, k, n)} accepted"
        await cocotb.triggers.RisingEdge(dut.clk)
    one = np.ones((1, 1), dtype=np.int8)
    result = await driver.gemm(one, one)
    assert dut.cmd_error.value == 0
    _check(dut, "after errors", one, one, result)


@cocotb.test()
async def steady_state_utilization(dut):
    """M = max(4 * rows, 8), K = 8 * rows, N = 8 * cols through the real interfaces:
    utilization at least 95% (and exactly the cycle model's). (At least 8 rows of activations:
    a one-row array's 4-cycle tiles would not amortize the ``2R + C + 6`` cycles of fill and
    drain.)"""
    driver = await _driver(dut)
    cfg = driver.config
    np_rng, _ = bench_rng(dut, "steady_state_utilization")
    m, k, n = min(max(4 * cfg.rows, 8), cfg.max_m), 8 * cfg.rows, 8 * cfg.cols
    x = np_rng.integers(-128, 128, size=(m, k))
    w = np_rng.integers(-1, 2, size=(n, k))
    result = await driver.gemm(x, w)
    _check(dut, "steady state", x, w, result)
    assert result.cycles == cfg.cycles(m, k, n)
    if m == max(4 * cfg.rows, 8):
        assert result.utilization >= 0.95, f"utilization {result.utilization:.4f} < 0.95"


# ---- pytest side --------------------------------------------------------------------------

CONFIGS = {
    "4x3-i2": (AccelConfig(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000), None),
    "3x7-t5": (AccelConfig(rows=3, cols=7, weight_format="t5", max_m=6), None),
    "1x6-i2": (AccelConfig(rows=1, cols=6, acc_bits=20, max_k=2000), None),
    "5x1-t5": (AccelConfig(rows=5, cols=1, weight_format="t5", act_bits=8), None),
    "8x8-i2": (AccelConfig(rows=8, cols=8), "steady_state_utilization|cycle_model|extremes"),
    "64x64-i2": (AccelConfig(rows=64, cols=64), "steady_state_utilization|cycle_model"),
}


@pytest.mark.parametrize("label", list(CONFIGS))
def test_top(label):
    from gen.emit import emit_verilog
    config, test_filter = CONFIGS[label]
    run_bench(kind="top", key=config.digest, verilog=emit_verilog(config), toplevel=config.name,
              module="cosim.test_top", config=config.as_dict(), test_filter=test_filter,
              name=label)
