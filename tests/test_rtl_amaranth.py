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


#: Configurations with several result beats per row: "rows x cols / result_lanes".
NARROW = {"2x3/1": dict(rows=2, cols=3, result_lanes=1),
          "4x6/4": dict(rows=4, cols=6, result_lanes=4),
          "3x7/3": dict(rows=3, cols=7, result_lanes=3),
          "1x5/2": dict(rows=1, cols=5, result_lanes=2)}


@pytest.mark.parametrize("label, m, k, n", [
    ("2x3/1", 1, 1, 1), ("2x3/1", 5, 2, 3), ("2x3/1", 20, 2, 3), ("2x3/1", 14, 4, 6),
    ("2x3/1", 3, 7, 8), ("4x6/4", 1, 1, 1), ("4x6/4", 9, 5, 13), ("4x6/4", 30, 9, 13),
    ("3x7/3", 40, 3, 20), ("3x7/3", 4, 10, 14), ("1x5/2", 30, 3, 11),
])
def test_narrow_result_stream_matches_golden_and_cycle_model(label, m, k, n):
    """A result row over B = 2 or 3 beats (``result_lanes`` 1, 2, 3, 4; cols a multiple of
    it or not): exact results, and exactly ``AccelConfig.cycles`` (the row recurrence), with M
    below and above the result queue's depth (12 to 17 here) and one or several K and N tiles,
    so that the drain and the queue's credits set the pace."""
    rng = np.random.default_rng(15)
    cfg = AccelConfig(max_m=40, max_k=100, max_n=100, **NARROW[label])
    assert cfg.result_beats_per_row in (2, 3)
    x = rng.integers(-128, 128, size=(m, k))
    w = rng.integers(-1, 2, size=(n, k))
    y, cycles = _simulate(cfg, x, w)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles == cfg.cycles(m, k, n)


@pytest.mark.parametrize("label, seed", [("2x3/1", 16), ("4x6/4", 17)])
def test_narrow_result_stream_under_random_traffic(label, seed):
    """Idle sources and a stalling sink with several beats per row: results stay exact, and
    ``results.ready`` still reaches no input ``ready`` combinationally."""
    rng = np.random.default_rng(seed)
    cfg = AccelConfig(max_m=40, max_k=100, max_n=100, **NARROW[label])
    x = rng.integers(-128, 128, size=(25, 2 * cfg.rows + 1))
    w = rng.integers(-1, 2, size=(cfg.cols + 2, 2 * cfg.rows + 1))
    y, cycles = _simulate(cfg, x, w, idle=0.3, stall=0.5, seed=seed, probe_ready=True)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles > cfg.cycles(*x.shape, w.shape[0])


#: Wide weight ports: "rows x cols format / rows per beat" -> configuration fields.
WIDE = {"4x3 i2/2": dict(rows=4, cols=3, weight_port_bits=12),
        "4x3 i2/4": dict(rows=4, cols=3, weight_port_bits=24),
        "5x4 i2/3": dict(rows=5, cols=4, weight_port_bits=24),
        "4x6 t5/4": dict(rows=4, cols=6, weight_format="t5", weight_port_bits=40),
        "6x5 t5/4": dict(rows=6, cols=5, weight_format="t5", weight_port_bits=32),
        "8x8 t5/5": dict(rows=8, cols=8, weight_format="t5", weight_port_bits=64),
        "8x8 i2/8": dict(rows=8, cols=8, weight_port_bits=128),
        "2x2 int8/2": dict(rows=2, cols=2, pe="int8", weight_port_bits=32),
        "4x6/4 i2/3": dict(rows=4, cols=6, weight_port_bits=36, result_lanes=4),
        "8x8 i2/4 d2": dict(rows=8, cols=8, weight_port_bits=64, wmem_tiles=2)}


@pytest.mark.parametrize("label, m, k, n", [
    ("4x3 i2/2", 1, 9, 7), ("4x3 i2/2", 6, 16, 10), ("4x3 i2/4", 1, 24, 12),
    ("4x3 i2/4", 3, 13, 5), ("5x4 i2/3", 1, 24, 12), ("5x4 i2/3", 6, 16, 10),
    ("4x6 t5/4", 2, 13, 13), ("6x5 t5/4", 1, 25, 16), ("8x8 t5/5", 1, 40, 24),
    ("8x8 t5/5", 8, 17, 9), ("8x8 i2/8", 1, 64, 24), ("8x8 i2/8", 2, 20, 17),
    ("2x2 int8/2", 3, 13, 5), ("4x6/4 i2/3", 9, 5, 13), ("8x8 i2/4 d2", 1, 64, 24),
])
def test_wide_weight_port_matches_golden_and_cycle_model(label, m, k, n):
    """Several tile rows per weight beat (dividing rows or not, so that beats straddle tiles
    and the last is padded), i2, t5 and the int8 baseline, a narrow result stream, a store of
    two slots that holds the port back: exact results in exactly ``AccelConfig.cycles``."""
    rng = np.random.default_rng(21)
    cfg = AccelConfig(max_m=40, max_k=100, max_n=100, **WIDE[label])
    x = rng.integers(-128, 128, size=(m, k))
    low, high = (-1, 2) if cfg.pe == "ternary" else (-128, 128)
    w = rng.integers(low, high, size=(n, k))
    y, cycles = _simulate(cfg, x, w)
    expected = golden.int_gemm(x, w) if cfg.pe == "ternary" else golden.int8_gemm(x, w)
    assert np.array_equal(y, expected)
    assert cycles == cfg.cycles(m, k, n)


@pytest.mark.parametrize("label, seed", [("5x4 i2/3", 31), ("8x8 t5/5", 32), ("8x8 i2/8", 33)])
def test_wide_weight_port_under_random_traffic(label, seed):
    """Idle sources and a stalling sink with a wide port: a tile starts only when complete in
    the store, so results stay exact; ``results.ready`` reaches no input ``ready``."""
    rng = np.random.default_rng(seed)
    cfg = AccelConfig(max_m=40, max_k=100, max_n=100, **WIDE[label])
    x = rng.integers(-128, 128, size=(3, 3 * cfg.rows + 1))
    w = rng.integers(-1, 2, size=(2 * cfg.cols + 1, 3 * cfg.rows + 1))
    y, cycles = _simulate(cfg, x, w, idle=0.4, stall=0.4, seed=seed, probe_ready=True)
    assert np.array_equal(y, golden.int_gemm(x, w))
    assert cycles > cfg.cycles(*x.shape, w.shape[0])


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


@pytest.mark.parametrize("rows, cols", [(1, 1), (4, 3), (8, 8), (64, 64), (3, 17)])
def test_declared_latencies_compose_to_the_documented_pipeline(rows, cols):
    """The figures of docs/interface.md and docs/architecture.md, typed here by hand, against
    the sums rtl/pipeline.py forms from the blocks' declared latencies."""
    from rtl.accumulator import Accumulator
    from rtl.config import ROW_SPACING
    from rtl.pipeline import input_delay, token_delay, token_tap
    from rtl.pipeline import slot_hold
    cfg = AccelConfig(rows=rows, cols=cols)
    assert input_delay(cfg) == 2
    assert token_delay(cfg) == rows + 2
    assert token_tap(cfg) == rows
    assert cfg.latency == rows + 5
    assert cfg.result_queue_depth == rows + 7
    assert slot_hold(cfg) == cfg.slot_hold == rows + 1
    assert Accumulator.row_spacing == ROW_SPACING == 4


def test_command_offered_while_busy_waits_for_ready():
    """A second command held valid from the first cycle of a job is accepted only when
    ``cmd.ready`` (``~busy``) rises: in the cycle after the job's last result beat, the cycle
    ``done`` pulses. Its weights stream only after that, and both jobs match golden."""
    from amaranth.sim import Simulator
    from rtl.top import TernaryAccelerator

    rng = np.random.default_rng(14)
    cfg = AccelConfig(rows=3, cols=2)
    jobs = []
    for m, k, n in ((4, 5, 3), (2, 3, 2)):
        x = rng.integers(-128, 128, size=(m, k))
        w = rng.integers(-1, 2, size=(n, k))
        layout = JobLayout(cfg, m, k, n)
        jobs.append((x, w, layout, layout.weight_words(w), layout.activation_words(x)))
    weights = [word for job in jobs for word in job[3]]
    activations = [row for job in jobs for row in job[4]]
    dut = TernaryAccelerator(cfg)
    sim = Simulator(dut)
    sim.add_clock(1e-8)
    seen = {"results": [], "accepted": [], "done": [], "last_beat": [], "weight_cycles": []}

    async def bench(ctx):
        wi = ai = 0
        commands = [(job[0].shape[0], job[0].shape[1], job[1].shape[0]) for job in jobs]
        beats = [job[2].result_beats for job in jobs]
        for cycle in range(400):
            if commands:
                m, k, n = commands[0]
                ctx.set(dut.cmd.payload, {"m": m, "k": k, "n": n})
            ctx.set(dut.cmd.valid, bool(commands))
            ctx.set(dut.weights.valid, wi < len(weights))
            ctx.set(dut.weights.payload, weights[wi] if wi < len(weights) else 0)
            ctx.set(dut.activations.valid, ai < len(activations))
            ctx.set(dut.activations.payload.as_value(),
                    activations[ai] if ai < len(activations) else 0)
            ctx.set(dut.results.ready, 1)
            _, _, c_ready, w_ready, a_ready, r_valid, r_data, done = await ctx.tick().sample(
                dut.cmd.ready, dut.weights.ready, dut.activations.ready, dut.results.valid,
                dut.results.payload.as_value(), dut.done)
            if done:
                seen["done"].append(cycle)
            if commands and c_ready:
                commands.pop(0)
                seen["accepted"].append(cycle)
            if wi < len(weights) and w_ready:
                seen["weight_cycles"].append(cycle)
                wi += 1
            if ai < len(activations) and a_ready:
                ai += 1
            if r_valid:
                seen["results"].append(int(r_data) & ((1 << cfg.result_stream_bits) - 1))
                if len(seen["results"]) in (beats[0], beats[0] + beats[1]):
                    seen["last_beat"].append(cycle)
            if len(seen["last_beat"]) == 2:
                return

    sim.add_testbench(bench)
    sim.run()
    assert len(seen["last_beat"]) == 2, "the jobs did not finish"
    first_end = seen["last_beat"][0]
    assert seen["accepted"] == [0, first_end + 1]
    assert seen["done"][0] == first_end + 1
    first_words = len(jobs[0][3])
    assert seen["weight_cycles"][first_words] == first_end + 2
    split = jobs[0][2].result_beats
    for (x, w, layout, _, _), results in zip(jobs, (seen["results"][:split],
                                                    seen["results"][split:])):
        assert np.array_equal(layout.results(results), golden.int_gemm(x, w))
