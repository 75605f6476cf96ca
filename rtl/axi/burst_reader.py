"""The burst reader: an AXI4 manager's read side that streams a contiguous region of memory."""

from amaranth import *
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_integer
from .burst_plan import BurstPlan
from .bus import (BURST_INCR, MAX_BURST_BEATS, PAGE_BYTES, PROT, READ_CACHE, RESP_OKAY,
                  check_data_bits, read_manager_signature)


__all__ = ["BurstReader"]


class BurstReader(wiring.Component):
    """Reads ``count`` beats of ``data_bits`` from memory at ``base`` and streams them out in
    address order, with enough reads in flight to hide the memory's latency.

    A transfer starts on a cycle with ``start`` and ``next_ready`` high (``start`` otherwise is
    ignored): when idle, or as soon as every burst of the transfer before has been issued, so
    that the next transfer's requests follow the last one's without a pause while its beats
    still arrive (they leave the FIFO first); never in a cycle with ``abort``. The reader
    splits a transfer into INCR bursts of at most ``max_burst`` beats that never cross a 4 KiB
    boundary, and issues a burst only when the data FIFO (``depth`` beats) has
    room for all its beats beside every beat already requested: ``rready`` is therefore always
    high, and a slow consumer slows the requests, never the R channel. With a memory that
    returns one beat per cycle ``L`` cycles after a request, the stream runs at one beat per
    cycle once ``depth >= L + 2 * max_burst + 4`` (:meth:`depth_for_latency`).

    ``base`` must be a multiple of ``data_bits / 8`` (the reader uses it as it is; the register
    block refuses others). A response other than OKAY on any beat ends the transfer: no further
    burst is issued, that beat and every later one are dropped, and ``resp`` keeps the first
    such code until the next start; a failing beat of the transfer before, arriving after this
    one started back to back, ends this one the same way but sets ``previous_resp`` instead
    (AXI returns one ID's beats in order, so the beats are told apart by counting). ``abort``
    ends a transfer the same way and empties the FIFO. Either way ``busy`` stays high until
    every beat already requested has arrived (AXI has no way to cancel a read), so the reader
    is idle and clean for the next transfer.

    Parameters
    ----------
    addr_bits : int
        Address width, 12 to 64.
    data_bits : int
        AXI4 data width: 32 to 1024, a power of two.
    count_bits : int
        Width of ``count``: at most ``2**count_bits - 1`` beats per transfer.
    depth : int
        Beats of the data FIFO, at least ``2 * max_burst``.
    max_burst : int or None
        Longest burst in beats, 1 to 256; by default the beats of a 4 KiB page, at most 256.
    id_bits : int
        Width of ``arid`` (the reader always uses ID 0).
    pass_bits : int
        Width of ``passes``.

    Members
    -------
    axi : ``Out(read_manager_signature(...))``
        The AR and R channels.
    start : ``In(1)``, base : ``In(addr_bits)``, count : ``In(count_bits)``,
    passes : ``In(pass_bits)``
        Start a transfer of ``count`` beats (at least 1) from ``base``, read ``passes`` times
        over without a pause (0 counts as 1).
    abort : ``In(1)``
        End the current transfer (see above); ignored when idle.
    busy : ``Out(1)``
        A register: high from the cycle after ``start`` until every burst of the transfer has
        been issued and has arrived (or the transfer ended and the beats in flight arrived).
    next_ready : ``Out(1)``
        A ``start`` now starts a transfer: no ``abort``, and idle, or every burst issued and
        the transfer not ending (combinational, from registers, ``abort`` and the R channel: a
        failing beat in this cycle lowers it).
    resp : ``Out(2)``
        The first response other than OKAY of the transfer, else 0 (register).
    previous_resp : ``Out(2)``
        The first response other than OKAY of a beat of the transfer before that arrived after
        this one started, else 0 (register; cleared by a start).
    data : ``Out(stream.Signature(data_bits))``
        The beats, in order. ``data.valid`` does not depend on ``data.ready``.
    """

    def __init__(self, *, addr_bits, data_bits, count_bits, depth, max_burst=None, id_bits=1,
                 pass_bits=1):
        self.addr_bits = check_integer("addr_bits", addr_bits, 12, 64)
        self.data_bits = check_data_bits("data_bits", data_bits)
        self.count_bits = check_integer("count_bits", count_bits, 1, 64)
        self.beat_bytes = data_bits // 8
        page_beats = min(MAX_BURST_BEATS, PAGE_BYTES // self.beat_bytes)
        if max_burst is None:
            max_burst = page_beats
        self.max_burst = check_integer("max_burst", max_burst, 1, page_beats)
        self.depth = check_integer("depth", depth, 2 * self.max_burst)
        self.id_bits = check_integer("id_bits", id_bits, 1, 32)
        self.pass_bits = check_integer("pass_bits", pass_bits, 1, 32)
        super().__init__({
            "axi": Out(read_manager_signature(addr_bits=addr_bits, data_bits=data_bits,
                                              id_bits=id_bits)),
            "start": In(1),
            "base": In(addr_bits),
            "count": In(count_bits),
            "passes": In(pass_bits),
            "abort": In(1),
            "busy": Out(1),
            "next_ready": Out(1),
            "resp": Out(2),
            "previous_resp": Out(2),
            "data": Out(stream.Signature(data_bits)),
        })

    @staticmethod
    def depth_for_latency(latency, max_burst):
        """FIFO beats that keep one beat per cycle flowing from a memory of ``latency`` cycles:
        the beats in flight during the latency, a burst being received, a burst whose request
        waits for room, and the cycles from a burst's room to its request."""
        return latency + 2 * max_burst + 4

    def elaborate(self, platform):
        m = Module()
        axi = self.axi

        m.submodules.fifo = buffer = ResetInserter(self.abort)(
            fifo.SyncFIFOBuffered(width=self.data_bits, depth=self.depth))
        m.submodules.plan = plan = BurstPlan(addr_bits=self.addr_bits, data_bits=self.data_bits,
                                             count_bits=self.count_bits,
                                             max_burst=self.max_burst, pass_bits=self.pass_bits)

        in_flight = Signal(range(self.depth + 1))   # requested, not yet arrived
        ending = Signal()                           # no more bursts: aborted or a read failed
        starting = Signal()
        all_issued = Signal()       # every burst of the transfer requested (a register)
        m.d.comb += [
            starting.eq(self.start & self.next_ready & (self.count != 0)),
            plan.load.eq(starting),
            plan.base.eq(self.base),
            plan.count.eq(self.count),
            plan.passes.eq(self.passes),
        ]

        # AR: a burst is offered only when the FIFO has room for all its beats beside every
        # beat in flight, and then held until taken (AXI: valid never falls before ready).
        # The room is a register, computed for the longest burst from the cycle before: beats
        # in flight plus beats in the FIFO only grow with a request, and after a request the
        # plan is not fresh for two cycles, so the register never promises room that is gone
        # (and the consumer's ready no longer reaches the request logic combinationally).
        # ``outstanding``: beats requested and not yet out of the FIFO (in flight plus in the
        # FIFO, plus a beat taken in the cycle before), kept as one register so that the room
        # is one comparison with a constant.
        room = Signal()
        outstanding = Signal(range(self.depth + 1))
        m.d.sync += room.eq(outstanding <= self.depth - self.max_burst)
        m.d.comb += [
            axi.arid.eq(0),
            axi.arsize.eq(plan.beat_bytes.bit_length() - 1),
            axi.arburst.eq(BURST_INCR),
            axi.arcache.eq(READ_CACHE),
            axi.arprot.eq(PROT),
        ]
        requested = Signal()
        m.d.comb += [
            requested.eq(axi.arvalid & axi.arready),
            plan.advance.eq(requested),
            plan.used.eq(plan.length),
        ]
        with m.If(requested):
            m.d.sync += [axi.arvalid.eq(0), all_issued.eq(plan.last)]
        # (a fresh plan's length is 0 exactly when nothing is left: a narrow test)
        with m.Elif(~axi.arvalid & plan.fresh & (plan.length != 0) & ~ending & room & self.busy):
            m.d.sync += [
                axi.arvalid.eq(1),
                axi.araddr.eq(plan.address),
                axi.arlen.eq(plan.length - 1),
            ]

        # R: always ready; a beat goes into the FIFO unless the transfer is ending.
        arrived = Signal()
        failed = Signal()
        m.d.comb += [
            axi.rready.eq(1),
            arrived.eq(axi.rvalid),
            failed.eq(arrived & (axi.rresp != RESP_OKAY)),
            self.next_ready.eq(~self.abort & (~self.busy | (all_issued & ~ending & ~failed))),
            buffer.w_data.eq(axi.rdata),
            buffer.w_en.eq(arrived & ~failed & ~ending & ~self.abort),
        ]
        in_flight_next = Signal.like(in_flight)
        m.d.comb += in_flight_next.eq(in_flight + Mux(requested, plan.length, 0) - arrived)
        m.d.sync += in_flight.eq(in_flight_next)
        # A beat taken from the FIFO leaves the count a cycle later (the consumer's ready
        # reaches only a register here): for that cycle the count is one beat high, which
        # only delays a request, never lets one overflow the FIFO.
        popped = Signal()
        m.d.sync += popped.eq(self.data.valid & self.data.ready & ~self.abort)
        with m.If(self.abort):                     # the FIFO is emptied
            m.d.sync += outstanding.eq(in_flight_next)
        with m.Else():
            m.d.sync += outstanding.eq(outstanding + Mux(requested, plan.length, 0) - popped
                                       - (arrived & ~buffer.w_en))
        # The beats of the transfer before still in flight when this one started (none from
        # idle): the next arrivals are theirs.
        older = Signal(range(self.depth + 1))
        previous = Signal()
        m.d.comb += previous.eq(older != 0)
        with m.If(starting):
            m.d.sync += [ending.eq(0), self.resp.eq(RESP_OKAY), all_issued.eq(0),
                         self.previous_resp.eq(RESP_OKAY),
                         older.eq(Mux(self.busy, in_flight - arrived, 0))]
        with m.Elif(arrived & previous):
            m.d.sync += older.eq(older - 1)
        with m.If(failed & ~previous & (self.resp == RESP_OKAY)):
            m.d.sync += self.resp.eq(axi.rresp)
        with m.If(failed & previous & (self.previous_resp == RESP_OKAY)):
            m.d.sync += self.previous_resp.eq(axi.rresp)
        with m.If((failed | self.abort) & self.busy):
            m.d.sync += ending.eq(1)

        wiring.connect(m, buffer.r_stream, wiring.flipped(self.data))

        # busy: until no burst is left to issue and none is in flight.
        with m.If(starting):
            m.d.sync += self.busy.eq(1)
        with m.Elif(self.busy & ~axi.arvalid & ((plan.left == 0) | ending) & (in_flight == 0)
                    & ~arrived):
            m.d.sync += self.busy.eq(0)
        return m
