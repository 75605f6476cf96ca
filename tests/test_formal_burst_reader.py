"""Formal proof of the AXI4 burst reader, :class:`rtl.axi.burst_reader.BurstReader`: the
manager side of the AXI read protocol and the documented burst plan hold in every reachable
state (k-induction, reset at any cycle, the subordinate and the consumer free).

Proved, for any transfer (base, count, passes), any abort and any subordinate behaviour that
AXI allows (a read beat only for a burst requested and not yet answered, any response code,
any ``arready`` and ``data.ready`` pattern):

* AXI: a request, once valid, stays valid with the same address and length until taken;
  ``rready`` is always high; ``arsize`` is the full width, ``arburst`` INCR.
* The plan: every burst is at most ``max_burst`` beats, never crosses a 4 KiB boundary,
  starts at a multiple of the beat, and starts where the previous burst of the pass ended
  (the first at ``base``); a pass requests exactly ``count`` beats and the transfer exactly
  ``passes`` passes (0 counts as 1), never more.
* Credit: the beats requested and not yet arrived, plus the burst being offered, plus the
  beats in the FIFO never exceed its depth, so no beat that arrives is ever dropped for want
  of room.
* ``busy`` low means no request offered and none in flight; while a transfer runs and before
  it ends, the reader does not stop short: it is idle only once every burst of the transfer
  was requested (or it ended) and has arrived.
* Back to back: ``next_ready`` while busy only once every burst of the transfer was requested
  and it is not ending, never with ``abort``, so the next transfer's requests follow, with the
  credit above counting the beats of both; the beats still owed to the transfer before (whose
  errors go to ``previous_resp``) are among those in flight.

The model (a copy of the plan as the documentation states it: address, beats left in the
pass, passes left, beats in flight) is tied to the reader's registers by inductive invariants.
"""

from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import elaborate_with_internals, prove
from rtl.axi.burst_reader import BurstReader

ADDR_BITS, DATA_BITS, COUNT_BITS, PASS_BITS = 14, 32, 4, 2
MAX_BURST, DEPTH = 4, 8
BEAT = DATA_BITS // 8
PAGE = 4096


class BurstReaderProperties(Elaboratable):
    def elaborate(self, platform):
        m = Module()
        dut = BurstReader(addr_bits=ADDR_BITS, data_bits=DATA_BITS, count_bits=COUNT_BITS,
                          depth=DEPTH, max_burst=MAX_BURST, pass_bits=PASS_BITS)
        m.submodules.dut, internal, _ = elaborate_with_internals(dut, platform)
        axi = dut.axi
        m.d.comb += [
            dut.start.eq(AnySeq(1)), dut.base.eq(AnySeq(ADDR_BITS)),
            dut.count.eq(AnySeq(COUNT_BITS)), dut.passes.eq(AnySeq(PASS_BITS)),
            dut.abort.eq(AnySeq(1)),
            axi.arready.eq(AnySeq(1)), axi.rvalid.eq(AnySeq(1)), axi.rresp.eq(AnySeq(2)),
            axi.rdata.eq(AnySeq(DATA_BITS)), axi.rlast.eq(AnySeq(1)), axi.rid.eq(0),
            dut.data.ready.eq(AnySeq(1)),
        ]
        m.d.comb += Assume(dut.base[:2] == 0)     # documented: base is a multiple of the beat

        requested = Signal()
        arrived = Signal()
        starting = Signal()
        m.d.comb += [
            requested.eq(axi.arvalid & axi.arready),
            arrived.eq(axi.rvalid & axi.rready),
            starting.eq(dut.start & dut.next_ready & (dut.count != 0)),
        ]

        # The model of the transfer.
        address = Signal(ADDR_BITS, name="model_address")
        left = Signal(COUNT_BITS, name="model_left")
        count = Signal(COUNT_BITS, name="model_count")
        base = Signal(ADDR_BITS, name="model_base")
        passes_left = Signal(PASS_BITS, name="model_passes_left")
        in_flight = Signal(range(DEPTH + 1), name="model_in_flight")
        length = Signal(9)                                   # arlen + 1, up to 256
        m.d.comb += length.eq(axi.arlen + 1)
        m.d.comb += Assume(~axi.rvalid | (in_flight != 0))   # AXI: only beats requested
        m.d.sync += in_flight.eq(in_flight + Mux(requested, length, 0) - arrived)
        with m.If(starting):
            m.d.sync += [address.eq(dut.base), left.eq(dut.count), count.eq(dut.count),
                         base.eq(dut.base),
                         passes_left.eq(Mux(dut.passes == 0, 0, dut.passes - 1))]
        with m.Elif(requested):
            m.d.sync += [address.eq(address + length * BEAT), left.eq(left - length)]
            with m.If((left == length) & (passes_left != 0)):
                m.d.sync += [address.eq(base), left.eq(count), passes_left.eq(passes_left - 1)]

        # AXI: valid held, address and length stable, until taken; fixed fields; rready.
        waiting = Signal()
        held_address = Signal(ADDR_BITS)
        held_length = Signal(8)
        m.d.sync += [waiting.eq(axi.arvalid & ~axi.arready), held_address.eq(axi.araddr),
                     held_length.eq(axi.arlen)]
        with m.If(waiting):
            m.d.comb += [Assert(axi.arvalid), Assert(axi.araddr == held_address),
                         Assert(axi.arlen == held_length)]
        m.d.comb += [Assert(axi.rready), Assert(axi.arsize == 2), Assert(axi.arburst == 1)]

        # The plan: bounds, page, alignment, contiguity, nothing beyond the transfer.
        with m.If(axi.arvalid):
            m.d.comb += [
                Assert(dut.busy),
                Assert(length <= MAX_BURST),
                Assert(axi.araddr[:2] == 0),
                Assert(axi.araddr[:12] + length * BEAT <= PAGE),
                Assert(axi.araddr == address),
                Assert((left != 0) & (length <= left)),
            ]

        # Credit: nothing arriving is ever dropped for want of room (the reader keeps the beats
        # in flight and in the FIFO as one count).
        level = internal["fifo.level"]
        m.d.comb += [Assert(in_flight + level + Mux(axi.arvalid, length, 0) <= DEPTH),
                     Assert(internal["outstanding"] == in_flight + level
                            + internal["popped"])]

        # Idle means idle; not idle before the transfer is done.
        with m.If(~dut.busy):
            m.d.comb += [Assert(~axi.arvalid), Assert(in_flight == 0)]
        ending = internal["ending"]
        with m.If(dut.busy & ~ending & ((left != 0) | (passes_left != 0))):
            m.d.comb += Assert(dut.busy)
        # The next transfer may start while this one's beats arrive, never before every burst
        # of it was requested (or it ended: then only from idle).
        with m.If(dut.busy & ~ending):                  # the register "all requested"
            m.d.comb += Assert(internal["all_issued"] == (~axi.arvalid & (left == 0)
                                                          & (passes_left == 0)))
        with m.If(dut.busy & dut.next_ready):
            m.d.comb += [Assert(~axi.arvalid), Assert(left == 0), Assert(passes_left == 0),
                         Assert(~ending)]
        with m.If(dut.abort):
            m.d.comb += Assert(~dut.next_ready)          # nothing starts in an abort's cycle
        # the beats told apart: those of the transfer before are among the beats in flight
        m.d.comb += Assert(internal["older"] <= in_flight)
        fell = Signal()
        m.d.sync += fell.eq(dut.busy & ~starting)
        with m.If(fell & ~dut.busy):
            # it fell: the transfer was fully requested, or it ended; nothing in flight
            m.d.comb += Assert(in_flight == 0)

        # Inductive invariants: the reader's own registers are the model's.
        plan_address, plan_left = internal["plan.address"], internal["plan.left"]
        m.d.comb += [
            Assert(internal["in_flight"] == in_flight),
        ]
        with m.If(dut.busy):
            m.d.comb += [Assert(address[:2] == 0), Assert(base[:2] == 0),
                         Assert(left <= count), Assert(count != 0),
                         Assert(plan_address == address), Assert(plan_left == left),
                         Assert(internal["plan.passes_left"] == passes_left),
                         Assert(internal["plan.base"] == base),
                         Assert(internal["plan.count"] == count)]
            with m.If(internal["plan.fresh"]):
                to_page = (PAGE - address[:12]) // BEAT
                expected = Mux(left < MAX_BURST, left, MAX_BURST)
                expected = Mux(to_page < expected, to_page, expected)
                m.d.comb += Assert(internal["plan.length"] == expected)
            with m.If(axi.arvalid):
                m.d.comb += [Assert(internal["plan.fresh"]),
                             Assert(internal["plan.length"] == length)]
        m.d.comb += Cover(dut.busy & requested & (passes_left == 0) & (left == length)
                          & (axi.araddr[:12] + length * BEAT == PAGE))
        return m


def test_burst_reader_protocol_and_plan():
    prove(BurstReaderProperties(), "burst_reader", mode="prove", depth=6)


def test_burst_reader_properties_are_reachable():
    """Not vacuous: the last burst of a second pass ends exactly on a page boundary."""
    prove(BurstReaderProperties(), "burst_reader_cover", mode="cover", depth=24)
