"""Formal proof of the output accumulator (rtl/accumulator.py) against a small model: unbounded
(k-induction), with reset at any cycle.

The tokens are free: in every cycle a token may arrive or not, for any row, with any ``first``
and ``last`` flags and any column sums; ``read_m`` is the row of the token that arrives two
cycles later (the top level taps it from its token pipe there, and so does the harness). With
``forward=True`` nothing more is assumed, so a row may return on every cycle; without it, a
row returns no sooner than ``row_spacing`` (4) cycles after its previous visit (``Assume``),
the accelerator's admission rule.

The model follows one row chosen by the solver (``AnyConst``): its sum since its last
``first`` token, lane by lane, modulo ``2**acc_bits``; a ``last`` token ends it (the
accumulator does not write it back, so until the next ``first`` the row's sum is unknown).
Asserted: ``result_valid`` is high exactly one cycle after each ``last`` token, and then, for
the followed row, ``result`` is the model's sum including that token's column sums. Since the
solver may follow any row through any arrival pattern, every result is the sum of its row's
column sums since its ``first``.

The inductive invariant: while the followed row's sum is known and no write of it is on its
way, its memory word holds the model's sum (an extra asynchronous read port on the
accumulator's memory, :func:`formal_sby.elaborate_with_internals`). The forwarding registers
and the read pipeline hold a value for at most three cycles, which the induction depth covers.
"""

import pytest
from amaranth import *
from amaranth.asserts import AnyConst, AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import elaborate_with_internals, prove
from rtl.accumulator import Accumulator

#: Lanes, stored-sum width, column-sum width and rows of the accumulators checked: small, with
#: a row count that is not a power of two, sums that wrap, and column sums of both signs.
COLS, ACC_BITS, COLUMN_BITS, DEPTH = 2, 5, 3, 3


class AccumulatorProperties(Elaboratable):
    def __init__(self, forward, *, invariants=True):
        self.forward = forward
        self.invariants = invariants

    def elaborate(self, platform):
        m = Module()
        dut = Accumulator(cols=COLS, acc_bits=ACC_BITS, column_bits=COLUMN_BITS, depth=DEPTH,
                          forward=self.forward)
        m.submodules.dut, internal, peek = elaborate_with_internals(dut, platform,
                                                                    peek=["storage"])

        # Free tokens, two cycles ahead of their arrival: read_m taps the pipe's entrance.
        pipe = [Signal(2 + len(dut.m) + 1, name=f"token_{age}") for age in range(3)]
        entering = Signal(len(pipe[0]))
        m.d.comb += entering.eq(AnySeq(len(entering)))
        m.d.comb += pipe[0].eq(entering)
        m.d.sync += [pipe[1].eq(pipe[0]), pipe[2].eq(pipe[1])]

        def fields(token):
            return token[0], token[1], token[2], token[3:]  # valid, first, last, m

        valid, first, last, row = fields(pipe[2])
        m.d.comb += [
            Assume(fields(pipe[0])[3] < DEPTH),
            dut.read_m.eq(fields(pipe[0])[3]),
            dut.valid.eq(valid), dut.first.eq(first), dut.last.eq(last), dut.m.eq(row),
            dut.psum.as_value().eq(AnySeq(len(dut.psum.as_value()))),
        ]
        if not self.forward:
            # A row returns no sooner than row_spacing cycles after its previous visit.
            recent = [Signal(1 + len(dut.m), name=f"visit_{age}")
                      for age in range(1, Accumulator.row_spacing)]
            m.d.sync += recent[0].eq(Cat(valid, row))
            m.d.sync += [older.eq(newer) for newer, older in zip(recent, recent[1:])]
            for visit in recent:
                m.d.comb += Assume(~(valid & visit[0] & (visit[1:] == row)))

        # The model of the followed row.
        followed = Signal(range(DEPTH))
        m.d.comb += [followed.eq(AnyConst(len(followed))), Assume(followed < DEPTH)]
        known = Signal()
        total = [Signal(ACC_BITS, name=f"sum_{n}") for n in range(COLS)]
        arriving = Signal()
        m.d.comb += arriving.eq(valid & (row == followed))
        new_total = [Signal(ACC_BITS, name=f"new_sum_{n}") for n in range(COLS)]
        for n in range(COLS):
            m.d.comb += new_total[n].eq(Mux(first, 0, total[n]) + dut.psum[n])
        with m.If(arriving):
            m.d.sync += [known.eq((known | first) & ~last)]
            m.d.sync += [total[n].eq(new_total[n]) for n in range(COLS)]

        # The result, one cycle after each last token; the followed row's is its model sum.
        result_due = Signal()
        check = Signal()
        expected = [Signal(ACC_BITS, name=f"expected_{n}") for n in range(COLS)]
        m.d.sync += [
            result_due.eq(valid & last),
            check.eq(arriving & last & (known | first)),
        ]
        m.d.sync += [expected[n].eq(new_total[n]) for n in range(COLS)]
        m.d.comb += Assert(dut.result_valid == result_due)
        with m.If(check):
            m.d.comb += [Assert(dut.result[n].as_unsigned() == expected[n]) for n in range(COLS)]

        if self.invariants:
            # Inductive invariant: the followed row's word, unless its write is on its way.
            writing = Signal()
            m.d.sync += writing.eq(arriving & ~last)
            word = peek["storage"]
            m.d.comb += word.addr.eq(followed)
            with m.If(known & ~writing):
                m.d.comb += [Assert(word.data[n * ACC_BITS:(n + 1) * ACC_BITS] == total[n])
                             for n in range(COLS)]
            if self.forward:
                # The forwarding registers: the arrivals 1, 2, 3 cycles ago, and the followed
                # row's sum in the one of its most recent arrival.
                history = [Signal(1 + len(dut.m), name=f"arrival_{age}") for age in (1, 2, 3)]
                m.d.sync += history[0].eq(Cat(valid, row))
                m.d.sync += [older.eq(newer) for newer, older in zip(history, history[1:])]
                newer_seen = C(0, 1)
                for age, arrival in enumerate(history, start=1):
                    value = internal["total_q"] if age == 1 else internal[f"total_{age}"]
                    m.d.comb += [Assert(internal[f"valid_{age}"] == arrival[0]),
                                 Assert(internal[f"m_{age}"] == arrival[1:])]
                    followed_here = arrival[0] & (arrival[1:] == followed)
                    with m.If(known & followed_here & ~newer_seen):
                        m.d.comb += [Assert(value[n * ACC_BITS:(n + 1) * ACC_BITS] == total[n])
                                     for n in range(COLS)]
                    newer_seen = newer_seen | followed_here

        # Covers: a result of a row whose previous visit was one cycle earlier (forwarding),
        # or four (without), after three visits since its first.
        visits = Signal(range(4))
        with m.If(arriving):
            m.d.sync += visits.eq(Mux(first, 1, Mux(visits == 3, 3, visits + 1)))
        previous = Signal()
        back_to_back = Signal()
        m.d.sync += [previous.eq(arriving), back_to_back.eq(arriving & previous)]
        m.d.comb += Cover(check & (visits == 3) & (expected[0] != 0) & (expected[1] != 0) &
                          (back_to_back if self.forward else 1))
        return m


@pytest.mark.parametrize("forward", [True, False], ids=["forward", "spaced"])
def test_accumulator_sums_each_row_since_its_first(forward):
    prove(AccumulatorProperties(forward), f"accumulator_{'forward' if forward else 'spaced'}",
          mode="prove", depth=6)


@pytest.mark.parametrize("forward", [True, False], ids=["forward", "spaced"])
def test_accumulator_property_is_reachable(forward):
    prove(AccumulatorProperties(forward),
          f"accumulator_cover_{'forward' if forward else 'spaced'}", mode="cover", depth=16)
