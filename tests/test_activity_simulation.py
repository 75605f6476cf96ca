"""The energy model's activity counts against the design: one job in Amaranth's simulator, with
counters kept per cycle on the design's own signals (PE weight codes on valid activation rows,
the weight store's bank enables, the accumulator's and the result queue's memory enables, the
stream handshakes), equal to :func:`gen.explore.activity.gemm_activity` for that exact weight
matrix; and the register bits per cycle equal the reset-less registers of the elaborated
design."""

import numpy as np
import pytest
from amaranth.hdl import Fragment
from amaranth.sim import Simulator

import golden
from cosim.layout import JobLayout
from gen.explore.activity import gemm_activity, register_bits_per_cycle
from rtl.accumulator import Accumulator
from rtl.config import AccelConfig
from rtl.pipeline import input_delay
from rtl.result_queue import ResultQueue
from rtl.skew import SkewBuffer
from rtl.top import TernaryAccelerator
from rtl.weight_store import WeightStore


class ProbedAccelerator(TernaryAccelerator):
    """The top level, keeping its elaborated module so that the bench can reach the blocks."""

    def elaborate(self, platform):
        self.module = super().elaborate(platform)
        return self.module


@pytest.fixture
def keep_modules(monkeypatch):
    """Each WeightStore, Accumulator and ResultQueue keeps its elaborated module (its
    memories are built there)."""
    for cls in (WeightStore, Accumulator, ResultQueue):
        original = cls.elaborate

        def elaborate(self, platform, original=original):
            self.module = original(self, platform)
            return self.module
        monkeypatch.setattr(cls, "elaborate", elaborate)


def _weight_nonzero(cfg, row_word):
    """Nonzero weights among the ``cols`` codes of one array row's weight word."""
    if cfg.pe == "ternary":
        return sum((row_word >> (2 * n)) & 1 for n in range(cfg.cols))      # TernaryCode.nz
    return sum(((row_word >> (8 * n)) & 0xFF) != 0 for n in range(cfg.cols))


def observe_job(cfg, x, w):
    """Run ``X @ W.T`` with sources always valid and a sink always ready; count, over the
    cycles from the first input beat accepted to the last result beat accepted, what the
    design's signals show. Returns ``(y, counts)``."""
    m, k = x.shape
    n = w.shape[0]
    layout = JobLayout(cfg, m, k, n)
    weights, activations = layout.weight_words(w), layout.activation_words(x)
    dut = ProbedAccelerator(cfg)
    sim = Simulator(dut)        # elaborates: the probes exist from here
    sim.add_clock(1e-8)
    top = dut.module.submodules
    store, acc, queue = top.store.module, top.acc.module, top.result_queue.module
    banks = [store.submodules[f"bank_{r}"] for r in range(cfg.rows)]
    bank_reads = [bank.read_ports[0].en for bank in banks]
    bank_writes = [bank.write_ports[0].en for bank in banks]
    acc_memory = acc.submodules.storage
    queue_memory = queue.submodules.storage
    probes = [top.feeder.token.valid, top.array.weights.as_value(), *bank_reads, *bank_writes,
              acc_memory.read_ports[0].en, acc_memory.write_ports[0].en,
              queue_memory.write_ports[0].en, queue_memory.read_ports[0].en]
    reach = [input_delay(cfg) + delay for delay in SkewBuffer.skew_delays(cfg.rows)]
    row_bits = cfg.cols * cfg.weight_bits
    sum_bits = cfg.cols * cfg.acc_bits
    outcome = {}

    async def bench(ctx):
        ctx.set(dut.cmd.payload, {"m": m, "k": k, "n": n})
        ctx.set(dut.cmd.valid, 1)
        await ctx.tick().until(dut.cmd.ready)
        ctx.set(dut.cmd.valid, 0)
        ctx.set(dut.results.ready, 1)
        wi = ai = 0
        results, per_cycle, accepted = [], [], []
        first = last = None
        cycle = 0
        while len(results) < layout.result_beats:
            assert cycle < 20 * cfg.cycles(m, k, n), "job stalled"
            ctx.set(dut.weights.valid, wi < len(weights))
            ctx.set(dut.weights.payload, weights[wi] if wi < len(weights) else 0)
            ctx.set(dut.activations.valid, ai < len(activations))
            ctx.set(dut.activations.payload.as_value(),
                    activations[ai] if ai < len(activations) else 0)
            sampled = await ctx.tick().sample(dut.weights.ready, dut.activations.ready,
                                              dut.results.valid, dut.results.payload.as_value(),
                                              *probes)
            w_ready, a_ready, r_valid, r_data, token_valid, codes, *enables = sampled[2:]
            counts = {"dram_weight_bits": 0, "dram_activation_bits": 0, "dram_result_bits": 0}
            if wi < len(weights) and w_ready:
                wi += 1
                counts["dram_weight_bits"] = cfg.word_bits
                first = cycle if first is None else first
            if ai < len(activations) and a_ready:
                ai += 1
                counts["dram_activation_bits"] = cfg.rows * cfg.act_bits
                first = cycle if first is None else first
            if r_valid:
                results.append(int(r_data) & ((1 << cfg.result_stream_bits) - 1))
                counts["dram_result_bits"] = cfg.result_stream_bits
                last = cycle
            accepted.append(bool(token_valid))
            # PE (r, c) works on a valid row in cycle t when the row was accepted reach[r]
            # cycles earlier (input registers, then the row skew); it adds when its code is
            # nonzero, and skips otherwise.
            nonzero = slots = 0
            for r in range(cfg.rows):
                if cycle >= reach[r] and accepted[cycle - reach[r]]:
                    word = (int(codes) >> (r * row_bits)) & ((1 << row_bits) - 1)
                    nonzero += _weight_nonzero(cfg, word)
                    slots += cfg.cols
            reads = sum(map(int, enables[:cfg.rows]))
            writes = sum(map(int, enables[cfg.rows:2 * cfg.rows]))
            acc_read, acc_write, queue_write, queue_read = map(int, enables[2 * cfg.rows:])
            counts.update(nonzero_adds=nonzero, zero_skips=slots - nonzero,
                          weight_sram_read_bits=reads * row_bits,
                          weight_sram_write_bits=writes * row_bits,
                          accumulator_read_bits=acc_read * sum_bits,
                          accumulator_write_bits=acc_write * sum_bits,
                          result_queue_write_bits=queue_write * sum_bits,
                          result_queue_read_bits=queue_read * sum_bits)
            per_cycle.append(counts)
            cycle += 1
        assert (wi, ai) == (len(weights), len(activations))
        window = per_cycle[first:last + 1]
        outcome["y"] = layout.results(results)
        outcome["counts"] = {name: sum(c[name] for c in window) for name in window[0]}
        outcome["counts"]["cycles"] = last - first + 1
        # Nothing happens outside the job's cycles but the accumulator's free-running read.
        outside = per_cycle[:first] + per_cycle[last + 1:]
        assert all(c[name] == 0 for c in outside for name in c
                   if name != "accumulator_read_bits")

    sim.add_testbench(bench)
    sim.run()
    return outcome["y"], outcome["counts"]


CASES = {
    # label: (config, M, K, N): partial tiles along K and N, wide ports that spill a beat
    # into the next tile, a whole tile per beat (accumulator forwarding), t5, several result
    # beats per row, and the int8 baseline.
    "2x2 i2, partial tiles": (AccelConfig(rows=2, cols=2, max_k=64, max_n=64, acc_bits=16),
                              2, 3, 3),
    "3x2 i2, a whole tile per beat": (AccelConfig(rows=3, cols=2, weight_port_bits=12,
                                                  max_k=64, max_n=64, acc_bits=16), 1, 5, 3),
    "4x3 t5, 3 rows per beat": (AccelConfig(rows=4, cols=3, weight_format="t5",
                                            weight_port_bits=16, max_k=64, max_n=64,
                                            acc_bits=16), 5, 9, 7),
    "4x4 i2, 3 rows per beat, 2 result beats": (
        AccelConfig(rows=4, cols=4, weight_port_bits=24, result_lanes=3, max_k=64, max_n=64,
                    acc_bits=16), 6, 9, 6),
    "2x2 int8, 2 rows per beat": (AccelConfig(rows=2, cols=2, pe="int8", weight_port_bits=32,
                                              max_k=64, max_n=64, acc_bits=24), 3, 3, 3),
}


@pytest.mark.parametrize("label", list(CASES))
def test_simulated_counts_equal_the_model(label, keep_modules):
    cfg, m, k, n = CASES[label]
    seed = 1600 + list(CASES).index(label)
    print(f"seed {seed}")
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 128, size=(m, k))
    if cfg.pe == "ternary":
        w = rng.choice([-1, 0, 1], size=(n, k), p=[0.35, 0.3, 0.35])
    else:
        w = rng.integers(-128, 128, size=(n, k)) * rng.integers(0, 2, size=(n, k))
    y, observed = observe_job(cfg, x, w)
    reference = golden.int_gemm if cfg.pe == "ternary" else golden.int8_gemm
    assert (y == reference(x, w)).all()
    model = gemm_activity(cfg, m, k, n, nonzero_weights=w).counts()
    assert {name: model[name] for name in observed} == observed
    # the observation is not trivial: zeros are skipped, tiles padded, sums read every cycle
    assert 0 < observed["nonzero_adds"] < m * k * n < observed["nonzero_adds"] + \
        observed["zero_skips"]
    assert observed["accumulator_read_bits"] == observed["cycles"] * cfg.cols * cfg.acc_bits


def _sync_registers(fragment, found):
    """Every signal a clocked statement of ``fragment`` or its subfragments drives."""
    for domain, statements in fragment.statements.items():
        if domain != "comb":
            for statement in statements:
                for signal in statement._lhs_signals():
                    found[id(signal)] = signal
    for subfragment, *_ in fragment.subfragments:
        _sync_registers(subfragment, found)
    return found


@pytest.mark.parametrize("label", list(CASES))
def test_register_bits_are_the_designs_reset_less_registers(label):
    """The data registers carry no reset (``docs/interface.md``, Reset) and are written every
    cycle; their widths in the elaborated design add up to the model's bits per cycle (the
    registers with a reset are the control, not counted)."""
    cfg = CASES[label][0]
    registers = _sync_registers(Fragment.get(TernaryAccelerator(cfg), None), {}).values()
    assert sum(len(r) for r in registers if r.reset_less) == register_bits_per_cycle(cfg)
