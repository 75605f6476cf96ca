"""Formal check of the AXI4 burst writer, :class:`rtl.axi.burst_writer.BurstWriter`: the
manager side of the AXI write protocol and the documented burst rules hold in every behaviour
of the first :data:`BMC_DEPTH` cycles after reset (a bounded model check, reset at any cycle,
the source and the subordinate free). It is bounded, not k-induction like the reader's proof:
the lengths of the bursts waiting for their data sit in a FIFO's memory, which the invariants
cannot name, so an induction step may start from a memory word no run writes.

Proved, for any transfer, any abort and any subordinate behaviour AXI allows (a response only
for a burst whose data is complete, any response code, any ``awready`` and ``wready``):

* AXI: an address, once valid, stays valid with the same address and length until taken; a
  data beat, once valid, stays valid with the same data and ``wlast`` until taken; each
  burst's data beats come after its address and number exactly ``awlen + 1``, ``wlast`` on
  the last; ``wstrb`` all ones, ``bready`` always high, INCR at full width.
* The bursts: each within ``max_burst`` beats, its 4 KiB page and the beat alignment,
  contiguous from ``base``, together never more than ``count`` beats.
* Data: a burst's address goes out only when all its beats are in the FIFO; beats are taken
  from the source only for the transfer (at most ``count``) and never into a full FIFO.
* ``busy`` low means no address offered, no burst awaiting its data or its response.
"""

from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import elaborate_with_internals, prove
from rtl.axi.burst_writer import BurstWriter

ADDR_BITS, DATA_BITS, COUNT_BITS = 14, 32, 4
MAX_BURST, DEPTH, BURSTS = 4, 4, 2
BEAT = DATA_BITS // 8
PAGE = 4096
#: Cycles after reset the bounded proof covers: several whole transfers of up to 15 beats in
#: bursts of at most 4, with the subordinate and the source stalling.
BMC_DEPTH = 28


class BurstWriterProperties(Elaboratable):
    def elaborate(self, platform):
        m = Module()
        dut = BurstWriter(addr_bits=ADDR_BITS, data_bits=DATA_BITS, count_bits=COUNT_BITS,
                          depth=DEPTH, max_burst=MAX_BURST, bursts=BURSTS)
        m.submodules.dut, internal, _ = elaborate_with_internals(dut, platform)
        axi = dut.axi
        m.d.comb += [
            dut.start.eq(AnySeq(1)), dut.base.eq(AnySeq(ADDR_BITS)),
            dut.count.eq(AnySeq(COUNT_BITS)), dut.abort.eq(AnySeq(1)),
            dut.data.valid.eq(AnySeq(1)), dut.data.payload.eq(AnySeq(DATA_BITS)),
            axi.awready.eq(AnySeq(1)), axi.wready.eq(AnySeq(1)),
            axi.bvalid.eq(AnySeq(1)), axi.bresp.eq(AnySeq(2)), axi.bid.eq(0),
        ]
        m.d.comb += Assume(dut.base[:2] == 0)

        issued = Signal()
        sent = Signal()
        answered = Signal()
        taken = Signal()
        starting = Signal()
        m.d.comb += [
            issued.eq(axi.awvalid & axi.awready),
            sent.eq(axi.wvalid & axi.wready),
            answered.eq(axi.bvalid & axi.bready),
            taken.eq(dut.data.valid & dut.data.ready),
            starting.eq(dut.start & ~dut.busy & (dut.count != 0)),
        ]
        length = Signal(9, name="model_length")
        m.d.comb += length.eq(axi.awlen + 1)

        # The model: the next address, beats not yet in a burst, beats still to take, bursts
        # whose address went out and whose data is incomplete (with the beats owed on the
        # oldest), bursts awaiting their response.
        address = Signal(ADDR_BITS, name="model_address")
        left = Signal(COUNT_BITS, name="model_left")
        to_take = Signal(COUNT_BITS, name="model_to_take")
        open_bursts = Signal(range(BURSTS + 1), name="model_open")
        owed = Signal(9, name="model_owed")            # beats owed by the oldest open burst
        owed_next = Signal(9, name="model_owed_next")  # beats of the next open one, if any
        awaiting = Signal(range(BURSTS + 1), name="model_awaiting")
        in_fifo = Signal(range(DEPTH + 1), name="model_in_fifo")
        unclaimed = Signal(range(DEPTH + 1), name="model_unclaimed")
        m.d.comb += Assume(~axi.bvalid | (awaiting != 0))   # AXI: a response for a burst
        done_burst = Signal()
        m.d.comb += done_burst.eq(sent & axi.wlast)
        with m.If(starting):
            m.d.sync += [address.eq(dut.base), left.eq(dut.count), to_take.eq(dut.count),
                         unclaimed.eq(0), in_fifo.eq(0)]
        with m.Else():
            m.d.sync += [to_take.eq(to_take - taken),
                         in_fifo.eq(in_fifo + taken - sent),
                         unclaimed.eq(unclaimed + taken - Mux(issued, length, 0))]
            with m.If(issued):
                m.d.sync += [address.eq(address + length * BEAT), left.eq(left - length)]
        m.d.sync += [open_bursts.eq(open_bursts + issued - done_burst),
                     awaiting.eq(awaiting + done_burst - answered)]
        # owed beats of the oldest open burst, and of the one behind it
        after_open = Signal(range(BURSTS + 1))
        after_owed = Signal(9)
        m.d.comb += [
            after_open.eq(open_bursts - done_burst),
            after_owed.eq(Mux(done_burst, owed_next, owed - sent)),
        ]
        m.d.sync += [
            owed.eq(Mux(issued & (after_open == 0), length, after_owed)),
            owed_next.eq(Mux(issued & (after_open == 1), length,
                             Mux(done_burst, 0, owed_next))),
        ]

        # AXI stability.
        aw_waiting = Signal()
        held_address = Signal(ADDR_BITS)
        held_length = Signal(8)
        w_waiting = Signal()
        held_data = Signal(DATA_BITS)
        held_last = Signal()
        m.d.sync += [aw_waiting.eq(axi.awvalid & ~axi.awready), held_address.eq(axi.awaddr),
                     held_length.eq(axi.awlen), w_waiting.eq(axi.wvalid & ~axi.wready),
                     held_data.eq(axi.wdata), held_last.eq(axi.wlast)]
        with m.If(aw_waiting):
            m.d.comb += [Assert(axi.awvalid), Assert(axi.awaddr == held_address),
                         Assert(axi.awlen == held_length)]
        with m.If(w_waiting):
            m.d.comb += [Assert(axi.wvalid), Assert(axi.wdata == held_data),
                         Assert(axi.wlast == held_last)]
        m.d.comb += [Assert(axi.bready), Assert(axi.awsize == 2), Assert(axi.awburst == 1),
                     Assert(axi.wstrb == 0b1111)]

        # Bursts: bounds, page, contiguity, nothing beyond the transfer, data in hand.
        with m.If(axi.awvalid):
            m.d.comb += [Assert(dut.busy), Assert(length <= MAX_BURST),
                         Assert(axi.awaddr[:2] == 0),
                         Assert(axi.awaddr[:12] + length * BEAT <= PAGE),
                         Assert(axi.awaddr == address), Assert(length <= left),
                         Assert(length <= unclaimed)]
        # W beats only for bursts whose address went out, wlast exactly on the last.
        with m.If(axi.wvalid):
            m.d.comb += [Assert(open_bursts != 0), Assert(axi.wlast == (owed == 1))]
        m.d.comb += [Assert(open_bursts <= BURSTS), Assert(awaiting + open_bursts <= BURSTS)]
        with m.If(axi.awvalid):        # the burst offered has its slot among those in flight
            m.d.comb += Assert(awaiting + open_bursts < BURSTS)
        with m.If(open_bursts != 0):
            m.d.comb += Assert(owed != 0)
        # The source: never more than the transfer, never into a full FIFO.
        with m.If(taken):
            m.d.comb += [Assert(to_take != 0), Assert(in_fifo < DEPTH)]
        with m.If(~dut.busy):
            m.d.comb += [Assert(~axi.awvalid), Assert(open_bursts == 0), Assert(awaiting == 0),
                         Assert(~dut.data.ready)]

        # Inductive invariants: the writer's registers are the model's.
        m.d.comb += [Assert(internal["awaiting"] == awaiting),
                     Assert(internal["lengths.level"] == open_bursts)]
        beat = internal["beat"]
        with m.If(internal["lengths.r_rdy"]):
            m.d.comb += Assert(owed == internal["lengths.r_data"] - beat + 1)
        with m.Else():
            m.d.comb += Assert(beat == 0)
        with m.If(dut.busy):
            m.d.comb += [
                Assert(address[:2] == 0),
                Assert(internal["plan.address"] == address),
                Assert(internal["plan.left"] == left),
                Assert(internal["to_take"] == to_take),
                Assert(internal["unclaimed"] == unclaimed),
                Assert(unclaimed <= in_fifo),
                Assert(in_fifo == internal["fifo.level"] + internal["taken_q"]),
                Assert(unclaimed == left - to_take),
                Assert(in_fifo == unclaimed + Mux(open_bursts != 0, owed, 0)
                       + Mux(open_bursts == 2, owed_next, 0)),
            ]
            with m.If(internal["plan.fresh"]):
                to_page = (PAGE - address[:12]) // BEAT
                expected = Mux(left < MAX_BURST, left, MAX_BURST)
                expected = Mux(to_page < expected, to_page, expected)
                m.d.comb += Assert(internal["plan.length"] == expected)
            with m.If(axi.awvalid):
                m.d.comb += Assert(internal["plan.fresh"])
        m.d.comb += Cover(dut.busy & done_burst & (axi.awaddr[:12] == PAGE - 2 * BEAT)
                          & (awaiting == 1))
        return m


def test_burst_writer_protocol_and_plan():
    prove(BurstWriterProperties(), "burst_writer", mode="bmc", depth=BMC_DEPTH, solver="yices")


def test_burst_writer_properties_are_reachable():
    """Not vacuous: a burst ends while another awaits its response."""
    prove(BurstWriterProperties(), "burst_writer_cover", mode="cover", depth=24, solver="yices")
