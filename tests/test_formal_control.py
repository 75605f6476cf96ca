"""Unbounded (k-induction) proofs of two blocks behind the top level's ports, which the
top-level check (``tests/test_formal_top.py``) covers only to a bounded depth:

* :class:`rtl.command.JobControl` (``cmd``, ``busy``, ``done``, ``cmd_error``): for any
  command sequence and reset at any cycle, ``cmd.ready`` is ``~busy``; an accepted command
  with every size in range raises ``busy`` the next cycle, clears ``cmd_error`` and loads the
  job registers (``job_m``, ``job_k``, ``single_m``, ``m_minus_2``), with ``start`` and
  ``size`` in its own cycle; an out-of-range one only sets ``cmd_error``; ``busy`` falls and
  ``done`` pulses the cycle after ``finish`` (assumed only while busy, as the result drain
  gives it), never otherwise.
* :class:`rtl.result_serializer.ResultSerializer` (the ``results`` port with several beats per
  row): given an input stream that obeys the stream rules (assumed), ``o`` obeys them too
  (``valid`` held, payload stable until ``ready``); beat ``j`` of a row carries lanes
  ``j * lanes ..`` of the row, zero past ``cols``; ``last`` marks beat ``beats - 1``; the row
  is taken (``i.ready``) exactly with its last beat accepted; ``o.valid`` is ``i.valid``.

The expectations come from a model written here from the docstrings and
``docs/interface.md``, not from the blocks' code.
"""

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import combinational_paths, elaborate_with_internals, prove
from rtl.command import JobControl
from rtl.config import AccelConfig
from rtl.result_serializer import ResultSerializer

#: A configuration whose size fields can exceed their maxima (max_m = 2 in 2 bits, ...).
CONFIG = AccelConfig(rows=2, cols=2, act_bits=2, acc_bits=6, max_m=2, max_k=5, max_n=6,
                     wmem_tiles=2)


class JobControlProperties(Elaboratable):
    def elaborate(self, platform):
        m = Module()
        cfg = CONFIG
        m.submodules.dut = dut = JobControl(cfg)
        size = dut.cmd.payload
        m.d.comb += [
            dut.cmd.valid.eq(AnySeq(1)),
            size.as_value().eq(AnySeq(len(size.as_value()))),
            dut.finish.eq(AnySeq(1)),
        ]
        busy = Signal()
        done = Signal()
        error = Signal()
        job_m = Signal(cfg.m_bits)
        job_k = Signal(cfg.k_bits)
        m.d.comb += Assume(~dut.finish | busy)

        accepted = Signal()
        sizes_ok = Signal()
        m.d.comb += [
            accepted.eq(dut.cmd.valid & ~busy),
            sizes_ok.eq((size.m >= 1) & (size.m <= cfg.max_m) & (size.k >= 1) &
                        (size.k <= cfg.max_k) & (size.n >= 1) & (size.n <= cfg.max_n)),
        ]
        m.d.sync += done.eq(dut.finish)
        with m.If(accepted):
            with m.If(sizes_ok):
                m.d.sync += [busy.eq(1), error.eq(0), job_m.eq(size.m), job_k.eq(size.k)]
            with m.Else():
                m.d.sync += error.eq(1)
        with m.If(dut.finish):
            m.d.sync += busy.eq(0)

        m.d.comb += [
            Assert(dut.cmd.ready == ~busy),
            Assert(dut.job.busy == busy),
            Assert(dut.done == done),
            Assert(dut.cmd_error == error),
            Assert(dut.job.start == (accepted & sizes_ok)),
            Assert(dut.job.size.as_value() == size.as_value()),
        ]
        with m.If(busy):
            m.d.comb += [
                Assert(dut.job.job_m == job_m),
                Assert(dut.job.job_k == job_k),
                Assert(dut.job.single_m == (job_m == 1)),
                Assert(dut.job.m_minus_2 == (job_m - 2)[:cfg.m_bits]),
            ]
        m.d.comb += [Cover(done), Cover(error)]
        return m


def test_job_control_follows_the_interface():
    prove(JobControlProperties(), "job_control", mode="prove", depth=3)


def test_job_control_property_is_reachable():
    prove(JobControlProperties(), "job_control_cover", mode="cover", depth=6)


LANE_BITS = 3


class SerializerProperties(Elaboratable):
    def __init__(self, cols, lanes):
        self.cols = cols
        self.lanes = lanes

    def elaborate(self, platform):
        m = Module()
        cols, lanes = self.cols, self.lanes
        beats = -(-cols // lanes)
        dut = ResultSerializer(signed(LANE_BITS), cols=cols, lanes=lanes)
        m.submodules.dut, internal, _ = elaborate_with_internals(dut, platform)
        m.d.comb += [
            dut.i.valid.eq(AnySeq(1)),
            dut.i.payload.as_value().eq(AnySeq(cols * LANE_BITS)),
            dut.o.ready.eq(AnySeq(1)),
        ]
        # The source obeys the stream rules.
        i_held = Signal()
        i_was = Signal(cols * LANE_BITS)
        m.d.sync += [i_held.eq(dut.i.valid & ~dut.i.ready),
                     i_was.eq(dut.i.payload.as_value())]
        with m.If(i_held):
            m.d.comb += Assume(dut.i.valid & (dut.i.payload.as_value() == i_was))

        # Model: the beat of the row on offer.
        beat = Signal(range(beats))
        taken = dut.o.valid & dut.o.ready
        with m.If(taken):
            m.d.sync += beat.eq(Mux(beat == beats - 1, 0, beat + 1))
        is_last = beat == beats - 1
        # Inductive invariant: the model's beat is in range and is the block's counter.
        m.d.comb += Assert(beat < beats)
        if beats > 1:
            m.d.comb += [Assert(internal["beat"] == beat),
                         Assert(internal["opening"] == (beat == 0))]
            # Past beat 0 the row is still on offer (held), and its later beats wait in the
            # shift register, the next one first.
            beat_bits = lanes * LANE_BITS
            row = Cat(dut.i.payload.as_value(), C(0, beats * beat_bits - cols * LANE_BITS))
            for j in range(1, beats):
                with m.If(beat == j):
                    m.d.comb += [Assert(i_held), Assert(
                        internal["later"][:(beats - j) * beat_bits] == row[j * beat_bits:])]
        m.d.comb += [
            Assert(dut.o.valid == dut.i.valid),
            Assert(dut.last == is_last),
            Assert(dut.i.ready == (dut.o.ready & is_last)),
        ]
        for j in range(beats):
            with m.If(beat == j):
                for lane in range(lanes):
                    column = j * lanes + lane
                    want = dut.i.payload[column] if column < cols else C(0, signed(LANE_BITS))
                    m.d.comb += Assert(dut.o.payload[lane] == want)
        # The sink sees the stream rules.
        o_held = Signal()
        o_was = Signal(lanes * LANE_BITS)
        m.d.sync += [o_held.eq(dut.o.valid & ~dut.o.ready),
                     o_was.eq(dut.o.payload.as_value())]
        with m.If(o_held):
            m.d.comb += [Assert(dut.o.valid), Assert(dut.o.payload.as_value() == o_was)]
        m.d.comb += Cover(taken & is_last & (beat != 0))
        return m


@pytest.mark.parametrize("cols, lanes", [(5, 2), (4, 2), (3, 1), (3, 3)])
def test_result_serializer_keeps_the_stream_rules(cols, lanes):
    prove(SerializerProperties(cols, lanes), f"serializer_{cols}_{lanes}", mode="prove",
          depth=4)


def test_result_serializer_property_is_reachable():
    prove(SerializerProperties(5, 2), "serializer_cover", mode="cover", depth=6)


def test_serializer_cuts_through_only_as_documented():
    """The serializer's documented cut-through paths, and no other: ``o.valid`` from
    ``i.valid``, ``o.payload`` from ``i.payload``, ``i.ready`` from ``o.ready``. The job
    control's ``start`` and ``size`` follow the command in its cycle (documented); every other
    output, ``cmd.ready`` included, is a register."""
    assert combinational_paths(ResultSerializer(signed(LANE_BITS), cols=5, lanes=2),
                               "comb_serializer") == ["i__payload", "i__valid", "o__ready"]
    assert combinational_paths(JobControl(CONFIG), "comb_job_start",
                               ["job__start", "job__size"]) == ["cmd__payload", "cmd__valid"]
    others = ["cmd__ready", "done", "cmd_error", "job__busy", "job__job_m", "job__job_k",
              "job__single_m", "job__m_minus_2"]
    assert combinational_paths(JobControl(CONFIG), "comb_job_registers", others) == []
