"""The top level in Amaranth's own simulator (no Verilator): a quick check of the RTL that
runs with the fast tests. The cocotb benches in ``cosim/`` are the full verification."""

import random

import numpy as np
import pytest
from amaranth.sim import Simulator

import golden
from cosim.layout import JobLayout
from rtl.config import AccelConfig
from rtl.top import TernaryAccelerator


def _simulate(cfg, x, w, *, idle=0.0, stall=0.0, seed=0):
    m, k = x.shape
    n = w.shape[0]
    layout = JobLayout(cfg, m, k, n)
    weights, activations = layout.weight_words(w), layout.activation_words(x)
    dut = TernaryAccelerator(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    outcome = {}
    result_mask = (1 << cfg.result_stream_bits) - 1

    async def bench(ctx):
        rng = random.Random(seed)
        ctx.set(dut.cmd_m, m)
        ctx.set(dut.cmd_k, k)
        ctx.set(dut.cmd_n, n)
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        wi = ai = cycle = 0
        first = last = None
        results = []
        while len(results) < layout.result_beats:
            assert cycle < 50 * cfg.cycles(m, k, n), "job stalled"
            offer_w = wi < len(weights) and rng.random() >= idle
            offer_a = ai < len(activations) and rng.random() >= idle
            take = rng.random() >= stall
            ctx.set(dut.weights.valid, offer_w)
            ctx.set(dut.weights.payload, weights[wi] if offer_w else 0)
            ctx.set(dut.activations.valid, offer_a)
            ctx.set(dut.activations.payload.as_value(), activations[ai] if offer_a else 0)
            ctx.set(dut.results.ready, take)
            _, _, w_ready, a_ready, r_valid, r_data = await ctx.tick().sample(
                dut.weights.ready, dut.activations.ready, dut.results.valid,
                dut.results.payload.as_value())
            if offer_w and w_ready:
                wi += 1
                first = cycle if first is None else first
            if offer_a and a_ready:
                ai += 1
                first = cycle if first is None else first
            if take and r_valid:
                results.append(int(r_data) & result_mask)
                last = cycle
            cycle += 1
        outcome["y"] = layout.results(results)
        outcome["cycles"] = last - first + 1

    sim.add_testbench(bench)
    sim.run()
    return outcome["y"], outcome["cycles"]


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
