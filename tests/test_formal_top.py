"""Formal checks of the top level's stream ports and job protocol (rtl/top.py,
``docs/interface.md``), on a small accelerator: 2x2 array, 2-bit activations, ``max_m = 2``,
``max_k = 4``, ``max_n = 2``, a weight store of two tile slots (``CONFIG``): with one tile
row a weight beat and one result beat per row, with two result beats per row
(``result_lanes = 1``, through the result serializer), and with a weight port of a whole tile
(two rows, 8 bits, a beat). At 2x2 a tile takes two cycles, so the accumulator forwards.

* **Combinational paths** (structural, exact for the netlist): no output port depends
  combinationally on any input port. That contains the interface's rules: no ``ready`` depends
  on a ``valid``, no ``valid`` on a ``ready``, and ``results__ready`` reaches no other output.
  Checked by yosys on the flattened design: the combinational input cone of every output holds
  no input (``select -assert-none``); a control design with a combinational path shows the
  check can fail.
* **Stream and job rules** (bounded model check from reset, depth :func:`bmc_depth`): for any
  command sequence (sizes in or out of range, commands offered while busy), any weights,
  activations and result backpressure the sources may produce under the stream rules
  (``Assume``: a source holds ``valid`` and its payload until ``ready``), and a reset at any
  cycle: ``results`` holds ``valid`` and its payload until ``ready``; ``cmd.ready`` is
  ``~busy``; ``busy``, ``done`` and ``cmd_error`` follow an independent model of the interface
  document (a valid command starts a job whose ``busy`` falls, and ``done`` pulses, in the
  cycle after its ``M * ceil(N / cols) * result_beats_per_row``-th result beat; an invalid one
  only sets ``cmd_error``; the next valid one clears it; reset clears all three); no result
  beat, weight ``ready`` or activation ``ready`` outside a job, and no job takes more weight or
  activation beats than its tiles hold.
* **Covers**: a job completes; a job with two K tiles (M = 2, K = 4, N = 2) completes after a
  command with a bad size; a job completes after a reset in the middle of another.

The depth: the largest job this configuration accepts (M = 2, K = 4, N = 2) takes
``AccelConfig.cycles(2, 4, 2)`` = 13 cycles (15 with two result beats per row, 12 with the
whole-tile port) from its first weight beat to its last result beat with sources always valid
and the sink always ready; after a command with a bad size at step 0 and the job's command at
step 1, its ``done`` pulses at step 15 (17, 14). :func:`bmc_depth` is that count plus
:data:`MARGIN` (depth 19, 21, 18), which leaves three more steps for an idle or stalled cycle
or a reset before the command, so every path from reset through one complete job of any size,
preceded by an invalid command or a reset, lies within the checked depth (the covers show
they are reached). Longer runs repeat the same blocks, whose own protocols are proven
unbounded (``tests/test_formal_weight_store.py``, ``test_formal_accumulator.py``,
``test_formal_result_queue.py``, ``test_formal_control.py``).
"""

from dataclasses import replace

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from formal_sby import combinational_paths, prove
from rtl.config import AccelConfig
from rtl.top import TernaryAccelerator

CONFIG = AccelConfig(rows=2, cols=2, act_bits=2, acc_bits=5, max_m=2, max_k=4, max_n=2,
                     wmem_tiles=2)

#: The configurations checked: one result beat per row, two (the result serializer), and a
#: weight port of a whole tile (two tile rows, 8 bits, a beat).
CONFIGS = {"one_beat": CONFIG, "two_beats": replace(CONFIG, result_lanes=1),
           "wide": replace(CONFIG, weight_port_bits=CONFIG.format.word_bits(2 * CONFIG.cols))}

#: Steps beyond the largest job's cycles: a bad command, the job's command, the cycle ``done``
#: pulses, and margin for a few idle or stalled cycles or a reset before it.
MARGIN = 6


def bmc_depth(cfg):
    """Steps of the bounded check: the largest job's cycles (``AccelConfig.cycles``) plus
    :data:`MARGIN` (19 for ``CONFIG``, 21 with two result beats per row, 18 with the
    whole-tile weight port)."""
    return cfg.cycles(cfg.max_m, cfg.max_k, cfg.max_n) + MARGIN


def _ceil_div(a, b):
    return -(-a // b)


def _source_rules(m, port):
    """Assume ``port`` (an input stream) holds ``valid`` and its payload until ``ready``."""
    held = Signal(name=f"{port.valid.name}_held")
    payload = Signal(len(Value.cast(port.payload)), name=f"{port.valid.name}_payload_was")
    m.d.sync += [held.eq(port.valid & ~port.ready), payload.eq(Value.cast(port.payload))]
    with m.If(held):
        m.d.comb += Assume(port.valid & (Value.cast(port.payload) == payload))


def _sink_rules(m, port):
    """Assert ``port`` (an output stream) holds ``valid`` and its payload until ``ready``."""
    held = Signal(name=f"{port.valid.name}_held")
    payload = Signal(len(Value.cast(port.payload)), name=f"{port.valid.name}_payload_was")
    m.d.sync += [held.eq(port.valid & ~port.ready), payload.eq(Value.cast(port.payload))]
    with m.If(held):
        m.d.comb += [Assert(port.valid), Assert(Value.cast(port.payload) == payload)]


class TopProtocol(Elaboratable):
    """The harness: the accelerator with free inputs and the interface document's model."""

    def __init__(self, cfg):
        self.cfg = cfg

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        m.submodules.dut = dut = TernaryAccelerator(cfg)
        m.d.comb += [
            dut.cmd.valid.eq(AnySeq(1)),
            dut.cmd.payload.as_value().eq(AnySeq(len(dut.cmd.payload.as_value()))),
            dut.weights.valid.eq(AnySeq(1)),
            dut.weights.payload.eq(AnySeq(cfg.word_bits)),
            dut.activations.valid.eq(AnySeq(1)),
            dut.activations.payload.as_value().eq(AnySeq(cfg.act_stream_bits)),
            dut.results.ready.eq(AnySeq(1)),
        ]
        for port in (dut.cmd, dut.weights, dut.activations):
            _source_rules(m, port)
        _sink_rules(m, dut.results)

        # The interface document's model of the job.
        size = dut.cmd.payload
        accepted = Signal()
        sizes_ok = Signal()
        m.d.comb += [
            accepted.eq(dut.cmd.valid & dut.cmd.ready),
            sizes_ok.eq((size.m >= 1) & (size.m <= cfg.max_m) & (size.k >= 1) &
                        (size.k <= cfg.max_k) & (size.n >= 1) & (size.n <= cfg.max_n)),
        ]
        # Beats of a job of these sizes (tables over the small size fields).
        k_values = range(1 << cfg.k_bits)
        n_values = range(1 << cfg.n_bits)
        n_tiles = Array(C(_ceil_div(n, cfg.cols), 4) for n in n_values)[size.n]
        k_tiles = Array(C(_ceil_div(k, cfg.rows), 4) for k in k_values)[size.k]
        # ceil(tiles * rows / rows_per_beat): the job's last beat may be padded.
        weight_beats = Array(C(_ceil_div(_ceil_div(k, cfg.rows) * _ceil_div(n, cfg.cols) *
                                         cfg.rows, cfg.rows_per_beat), 6)
                             for k in k_values for n in n_values)[size.k * len(n_values) + size.n]
        beats = 6
        busy = Signal()
        done = Signal()
        error = Signal()
        results_left = Signal(beats)
        weights_left = Signal(beats)
        activations_left = Signal(beats)
        m.d.sync += done.eq(0)
        with m.If(accepted):
            with m.If(sizes_ok):
                m.d.sync += [
                    busy.eq(1), error.eq(0),
                    results_left.eq(size.m * n_tiles * cfg.result_beats_per_row),
                    weights_left.eq(weight_beats),
                    activations_left.eq(size.m * k_tiles * n_tiles),
                ]
            with m.Else():
                m.d.sync += error.eq(1)
        result_beat = dut.results.valid & dut.results.ready
        weight_beat = dut.weights.valid & dut.weights.ready
        activation_beat = dut.activations.valid & dut.activations.ready
        with m.If(busy & result_beat):
            m.d.sync += results_left.eq(results_left - 1)
            with m.If(results_left == 1):
                m.d.sync += [busy.eq(0), done.eq(1)]
        with m.If(busy & weight_beat):
            m.d.sync += weights_left.eq(weights_left - 1)
        with m.If(busy & activation_beat):
            m.d.sync += activations_left.eq(activations_left - 1)

        m.d.comb += [
            Assert(dut.busy == busy),
            Assert(dut.done == done),
            Assert(dut.cmd_error == error),
            Assert(dut.cmd.ready == ~dut.busy),
            Assert(~dut.results.valid | busy),
            Assert(~dut.weights.ready | busy),
            Assert(~dut.activations.ready | busy),
        ]
        with m.If(busy):
            m.d.comb += [
                Assert(results_left != 0),
                Assert(~weight_beat | (weights_left != 0)),
                Assert(~activation_beat | (activations_left != 0)),
            ]

        # Covers: a completed job; the largest job completed after a bad command; a job
        # completed after a reset that aborted another.
        job_sizes = Signal.like(size.as_value())
        with m.If(accepted & sizes_ok):
            m.d.sync += job_sizes.eq(size.as_value())
        bad_seen = Signal(reset_less=True)
        with m.If(accepted & ~sizes_ok):
            m.d.sync += bad_seen.eq(1)
        aborted = Signal(reset_less=True)
        with m.If(ResetSignal() & busy):
            m.d.sync += aborted.eq(1)
        largest = Signal()
        m.d.comb += largest.eq(job_sizes == Cat(C(2, cfg.m_bits), C(4, cfg.k_bits),
                                                C(2, cfg.n_bits)))
        m.d.comb += [
            Cover(dut.done),
            Cover(dut.done & largest & bad_seen),
            Cover(dut.done & aborted),
        ]
        return m


class _ReadyFromValid(wiring.Component):
    """A control design that breaks the rule: ``i.ready`` depends on ``i.valid``."""
    i: In(stream.Signature(2))
    o: Out(stream.Signature(2))

    def elaborate(self, platform):
        m = Module()
        m.d.sync += [self.o.valid.eq(self.i.valid), self.o.payload.eq(self.i.payload)]
        m.d.comb += self.i.ready.eq(~self.i.valid | ~self.o.valid)
        return m


def test_check_finds_a_combinational_path():
    assert combinational_paths(_ReadyFromValid(), "comb_control") == ["i__valid"]


@pytest.mark.parametrize("name", CONFIGS)
def test_no_output_depends_combinationally_on_an_input(name):
    assert combinational_paths(TernaryAccelerator(CONFIGS[name]), f"comb_top_{name}") == []


@pytest.mark.parametrize("name", CONFIGS)
def test_top_stream_and_job_rules_bounded(name):
    cfg = CONFIGS[name]
    prove(TopProtocol(cfg), f"top_protocol_{name}", mode="bmc", depth=bmc_depth(cfg),
          solver="yices")


@pytest.mark.parametrize("name", CONFIGS)
def test_top_completes_jobs(name):
    cfg = CONFIGS[name]
    prove(TopProtocol(cfg), f"top_cover_{name}", mode="cover", depth=bmc_depth(cfg) + 2,
          solver="yices")
