"""Bounded proof of bit-exactness: a 2x2 accelerator computes an ``M = 2, K = 4, N = 2`` job
(two K tiles) equal to the integer product for **all** activations and weights, in both weight
formats with one tile row a weight beat, and in ``i2`` with a weight port of a whole tile (two
rows, 8 bits, a beat).

The harness resets the accelerator, sends the command, streams the job's weight beats (four,
or two of a whole tile each) and four activation beats in job order (``docs/interface.md``),
sources always valid, and takes the results with an always-ready sink. The activations are
symbolic (``AnyConst``, every 8-bit value); the weight beats are symbolic too, constrained to
the words golden accepts, and their meaning is golden's
(:meth:`golden.formats.WeightFormat.unwords` over the beat's ``rows_per_beat * cols`` lanes,
tabulated over every word). Every result lane must equal ``sum_k X[m, k] * W[n, k]`` computed
in the harness, and both result beats must have arrived, with ``busy`` low again, by the last
step.

Every register and memory of the accelerator starts with an arbitrary value (the harness
removes their initial values); the reset of the first cycle sets the control registers, and
the datapath's reset-less registers and memories (array, skew, input registers, accumulator,
the weight store's write stage and banks) keep whatever they powered up with, as on an ASIC.
The accumulator is the narrowest the configuration allows (11 bits), so the extreme sums are
at its edge. At 2x2 a tile takes two cycles of activations, so the accumulator forwards its
recent sums (``AccelConfig.accumulator_forwarding``): a row returns to it two cycles after its
previous visit, and the check goes through that path.

A whole ``t5`` tile is not checked: at two columns one row (two weights) and two rows (four)
both fit one byte, and ``weight_port_bits = 8`` means one row a beat.

Depth (:func:`depth`): the job takes ``AccelConfig.cycles(2, 4, 2)`` = 13 cycles (12 with the
whole-tile port) from its first weight beat to its last result beat; after the reset cycle
and the command cycle it ends by step 14 (13), ``busy`` is low from step 15 (14), and the
check runs three steps further (19, 18 steps), so the whole job, and that nothing else happens
after it within the check (no extra result beat), are covered.
"""

from dataclasses import replace

import pytest
from amaranth import *
from amaranth.asserts import AnyConst
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import prove
from golden.formats import FORMATS
from rtl.config import AccelConfig
from rtl.top import TernaryAccelerator

M, K, N = 2, 4, 2
#: BitNet's activation width: every int8 activation.
ACT_BITS = 8
#: Steps past the job's cycles: the reset cycle, the command cycle, the cycle ``busy`` falls,
#: and three more in which no further result beat may appear.
MARGIN = 6

#: (weight format, tile rows per weight beat): one row a beat, and the whole 2x2 tile a beat.
CASES = [("i2", 1), ("t5", 1), ("i2", 2)]


def config(weight_format, act_bits, rows_per_beat=1):
    """The 2x2 accelerator with ``rows_per_beat`` tile rows a weight beat and the narrowest
    accumulator that cannot overflow at K = 4."""
    loose = AccelConfig(rows=2, cols=2, act_bits=act_bits, acc_bits=32, max_m=M, max_k=K,
                        max_n=N, wmem_tiles=2, weight_format=weight_format)
    return replace(loose, acc_bits=loose.acc_bits_needed,
                   weight_port_bits=loose.format.word_bits(rows_per_beat * loose.cols))


def depth(cfg):
    """Steps of the check: the job's cycles (``AccelConfig.cycles``) plus :data:`MARGIN`."""
    return cfg.cycles(M, K, N) + MARGIN


def word_table(weight_format, lanes):
    """For every word value: golden's trits, or None where golden refuses the word."""
    fmt = FORMATS[weight_format]
    table = []
    for word in range(1 << fmt.word_bits(lanes)):
        try:
            table.append([int(t) for t in fmt.unwords([word], lanes)[0]])
        except ValueError:
            table.append(None)
    return table


class GemmProperties(Elaboratable):
    def __init__(self, weight_format, rows_per_beat=1, act_bits=ACT_BITS):
        self.cfg = config(weight_format, act_bits, rows_per_beat)
        self.weight_format = weight_format
        self.act_bits = act_bits
        self.cd_sync = ClockDomain("sync")

    def elaborate(self, platform):
        m = Module()
        cfg = self.cfg
        rows, cols, per_beat = cfg.rows, cfg.cols, cfg.rows_per_beat
        steps = depth(cfg)
        m.submodules.dut = dut = TernaryAccelerator(cfg)

        # Reset in the first cycle only; the harness's own registers ignore it.
        m.domains.sync = self.cd_sync
        cycle = Signal(range(steps + 2), reset_less=True)
        m.d.sync += cycle.eq(cycle + 1)
        m.d.comb += self.cd_sync.rst.eq(cycle == 0)

        # The job's data: X[m, k] symbolic; the weight words symbolic, valid for golden.
        x = [[AnyConst(signed(self.act_bits)) for _ in range(K)] for _ in range(M)]
        # The job's tile rows in order (N = cols: one N tile, K tiles of ``rows`` rows), row k
        # holding W[:, k]; ``per_beat`` rows a beat, row j of a beat in lanes j * cols ...
        lanes = per_beat * cols
        n_words = K // per_beat
        words = [AnyConst(cfg.word_bits) for _ in range(n_words)]
        table = word_table(self.weight_format, lanes)
        trits = []  # trits[word][lane], signed 2-bit
        for word in words:
            m.d.comb += Assume(Array(C(t is not None, 1) for t in table)[word])
            decoded = Signal(2 * lanes)
            m.d.comb += decoded.eq(Array(
                C(sum((t & 3) << (2 * lane) for lane, t in enumerate(entry or [0] * lanes)),
                  2 * lanes) for entry in table)[word])
            trits.append([decoded[2 * lane:2 * lane + 2].as_signed() for lane in range(lanes)])
        # W[n][k] is lane (k % per_beat) * cols + n of word k // per_beat.
        w = [[trits[k // per_beat][(k % per_beat) * cols + n] for k in range(K)]
             for n in range(N)]
        expected = [[Signal(signed(cfg.acc_bits), name=f"y_{i}_{n}") for n in range(N)]
                    for i in range(M)]
        for i in range(M):
            for n in range(N):
                m.d.comb += expected[i][n].eq(sum(x[i][k] * w[n][k] for k in range(K)))

        # The command, then the streams in job order, sources always valid.
        started = Signal(reset_less=True)
        with m.If(dut.cmd.valid & dut.cmd.ready):
            m.d.sync += started.eq(1)
        m.d.comb += [
            dut.cmd.valid.eq((cycle != 0) & ~started),
            dut.cmd.payload.m.eq(M), dut.cmd.payload.k.eq(K), dut.cmd.payload.n.eq(N),
        ]
        sent_w = Signal(range(n_words + 1), reset_less=True)
        m.d.comb += [
            dut.weights.valid.eq(started & (sent_w < n_words)),
            dut.weights.payload.eq(Array(words)[sent_w]),
        ]
        with m.If(dut.weights.valid & dut.weights.ready):
            m.d.sync += sent_w.eq(sent_w + 1)
        beats = [(i, kt) for kt in range(K // rows) for i in range(M)]
        sent_x = Signal(range(len(beats) + 1), reset_less=True)
        m.d.comb += dut.activations.valid.eq(started & (sent_x < len(beats)))
        for lane in range(rows):
            m.d.comb += dut.activations.payload[lane].eq(
                Array(x[i][kt * rows + lane] for i, kt in beats)[sent_x])
        with m.If(dut.activations.valid & dut.activations.ready):
            m.d.sync += sent_x.eq(sent_x + 1)

        # Every result beat equals the integer product; all arrive.
        m.d.comb += dut.results.ready.eq(1)
        received = Signal(range(M + 1), reset_less=True)
        # (In the reset cycle the outputs still show the power-up state.)
        with m.If((cycle != 0) & dut.results.valid):
            m.d.comb += Assert(received < M)
            for n in range(N):
                m.d.comb += Assert(dut.results.payload[n] == Array(
                    expected[i][n] for i in range(M))[received])
            m.d.sync += received.eq(received + 1)
        with m.If(cycle == steps - 1):
            m.d.comb += [Assert(received == M), Assert(~dut.busy)]
        m.d.comb += Cover(received == M)
        return m


def _case_id(case):
    weight_format, rows_per_beat = case
    return f"{weight_format}_k{rows_per_beat}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_two_by_two_job_is_the_integer_product(case):
    harness = GemmProperties(*case)
    prove(harness, f"gemm_{_case_id(case)}", mode="bmc", depth=depth(harness.cfg),
          script=["flatten", "setattr -unset init w:dut.*"], solver="yices",
          ports=[harness.cd_sync.clk])


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_job_completion_is_reachable(case):
    """The bounded proof is not vacuous: its assumptions admit a run where every result
    arrives (2-bit activations, the same harness, to keep the cover quick)."""
    harness = GemmProperties(*case, act_bits=2)
    prove(harness, f"gemm_cover_{_case_id(case)}", mode="cover", depth=depth(harness.cfg),
          script=["flatten", "setattr -unset init w:dut.*"], solver="yices",
          ports=[harness.cd_sync.clk])
