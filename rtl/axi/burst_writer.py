"""The burst writer: an AXI4 manager's write side that stores a stream in contiguous memory."""

from amaranth import *
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_integer
from .burst_plan import BurstPlan
from .bus import (BURST_INCR, MAX_BURST_BEATS, PAGE_BYTES, PROT, RESP_OKAY, WRITE_CACHE,
                  check_data_bits, write_manager_signature)


__all__ = ["BurstWriter"]


class BurstWriter(wiring.Component):
    """Writes the next ``count`` beats of ``data`` to memory from ``base`` on, in address order.

    A transfer starts on a cycle with ``start`` high and ``busy`` low (``start`` while busy is
    ignored). Beats are taken from ``data`` into a FIFO of ``depth`` beats; a burst's address
    (AW) is issued only once all its beats are in the FIFO, so its W beats then follow without
    a gap and the writer never holds the interconnect waiting for its source. A burst is the
    plan's (:class:`~rtl.axi.burst_plan.BurstPlan`: at most ``max_burst`` beats, never across
    4 KiB) when the FIFO holds that many beats not yet written; when it holds fewer and
    ``data.valid`` is low (the source paused) or the transfer has taken all its beats, the
    beats it holds leave at once as a shorter burst. So a source that streams gets full bursts,
    one that trickles (a result row now and then) gets its beats written without waiting for
    a burst to fill, and a transfer ends at most ``max_burst`` beats (plus a few cycles) after
    its last beat was taken: the writes of a streaming source trail it by one full burst.
    ``wstrb`` is all ones; up to ``bursts`` bursts may await their write response.

    ``base`` must be a multiple of ``data_bits / 8``. A write response other than OKAY ends the
    transfer: no further burst is issued and ``resp`` keeps the first such code until the next
    start; ``abort`` ends it the same way. Either way the W beats of every burst already
    issued are still sent (AXI requires them), ``data`` is no longer taken, and ``busy`` stays
    high until every issued burst has its response; the FIFOs are held empty while idle.

    Parameters
    ----------
    addr_bits : int
        Address width, 12 to 64.
    data_bits : int
        AXI4 data width: 32 to 1024, a power of two.
    count_bits : int
        Width of ``count``.
    depth : int
        Beats of the data FIFO, at least ``max_burst``.
    max_burst : int or None
        Longest burst in beats; by default the beats of a 4 KiB page, at most 256.
    bursts : int
        Bursts in flight (issued, response not yet received), at least 1.
    id_bits : int
        Width of ``awid`` (the writer always uses ID 0).

    Members
    -------
    axi : ``Out(write_manager_signature(...))``
        The AW, W and B channels.
    start : ``In(1)``, base : ``In(addr_bits)``, count : ``In(count_bits)``
        Start a transfer of ``count`` beats (at least 1) to ``base``.
    abort : ``In(1)``
        End the current transfer (see above); ignored when idle.
    busy : ``Out(1)``
        A register: high from the cycle after ``start`` until the last burst's response.
    resp : ``Out(2)``
        The first write response other than OKAY of the transfer, else 0 (register).
    data : ``In(stream.Signature(data_bits))``
        The beats to write; ``data.ready`` is a register, high while the transfer still needs
        beats and the FIFO has room.
    """

    def __init__(self, *, addr_bits, data_bits, count_bits, depth, max_burst=None, bursts=4,
                 id_bits=1):
        self.addr_bits = check_integer("addr_bits", addr_bits, 12, 64)
        self.data_bits = check_data_bits("data_bits", data_bits)
        self.count_bits = check_integer("count_bits", count_bits, 1, 64)
        page_beats = min(MAX_BURST_BEATS, PAGE_BYTES // (data_bits // 8))
        if max_burst is None:
            max_burst = page_beats
        self.max_burst = check_integer("max_burst", max_burst, 1, page_beats)
        self.depth = check_integer("depth", depth, self.max_burst)
        self.bursts = check_integer("bursts", bursts, 1, 256)
        self.id_bits = check_integer("id_bits", id_bits, 1, 32)
        super().__init__({
            "axi": Out(write_manager_signature(addr_bits=addr_bits, data_bits=data_bits,
                                               id_bits=id_bits)),
            "start": In(1),
            "base": In(addr_bits),
            "count": In(count_bits),
            "abort": In(1),
            "busy": Out(1),
            "resp": Out(2),
            "data": In(stream.Signature(data_bits)),
        })

    def elaborate(self, platform):
        m = Module()
        axi = self.axi
        starting = Signal()
        m.d.comb += starting.eq(self.start & ~self.busy & (self.count != 0))

        # The FIFOs are held empty while idle (a register, not the start decision, drives their
        # resets: a transfer takes its first beat two cycles after its start at the earliest).
        m.submodules.fifo = buffer = ResetInserter(~self.busy)(
            fifo.SyncFIFOBuffered(width=self.data_bits, depth=self.depth))
        m.submodules.plan = plan = BurstPlan(addr_bits=self.addr_bits, data_bits=self.data_bits,
                                             count_bits=self.count_bits,
                                             max_burst=self.max_burst)
        # The lengths of the bursts issued and not yet written, in order.
        m.submodules.lengths = lengths = ResetInserter(~self.busy)(
            fifo.SyncFIFOBuffered(width=8, depth=self.bursts))

        ending = Signal()            # no more bursts: aborted or a write failed
        to_take = Signal(self.count_bits)          # beats the transfer still needs from data
        all_taken = Signal()                       # to_take == 0, as a register
        unclaimed = Signal(range(self.depth + 1))  # beats in the FIFO not yet in a burst
        awaiting = Signal(range(self.bursts + 1))  # bursts issued, response not yet received
        m.d.comb += [
            plan.load.eq(starting),
            plan.base.eq(self.base),
            plan.count.eq(self.count),
        ]

        # Beats in. data.ready is a register (nothing of the memory side reaches the source
        # combinationally): set for the next cycle when the transfer will still need a beat and
        # the FIFO will surely have room (its level can only grow by the beat taken now).
        # A beat taken is registered before it is written into the FIFO (the source may be a
        # block RAM's output).
        taken = Signal()
        failing = Signal()
        taken_q = Signal()
        payload_q = Signal(self.data_bits)
        m.d.comb += [
            taken.eq(self.data.valid & self.data.ready),
            buffer.w_data.eq(payload_q),
            buffer.w_en.eq(taken_q),
        ]
        m.d.sync += [taken_q.eq(taken), payload_q.eq(self.data.payload)]
        with m.If(starting):
            m.d.sync += self.data.ready.eq(1)
        with m.Else():
            m.d.sync += self.data.ready.eq(
                self.busy & ~ending & ~failing & (to_take - taken != 0)
                & (buffer.level + taken_q + taken < self.depth))

        # AW: a burst is issued once all its beats are in the FIFO.
        m.d.comb += [
            axi.awid.eq(0),
            axi.awsize.eq(plan.beat_bytes.bit_length() - 1),
            axi.awburst.eq(BURST_INCR),
            axi.awcache.eq(WRITE_CACHE),
            axi.awprot.eq(PROT),
        ]
        issued = Signal()
        full = Signal()              # the FIFO holds the plan's whole burst
        paused = Signal()            # or the source gives no beat now: write what there is
        burst = Signal.like(plan.length)
        burst_q = Signal.like(plan.length)  # the offered burst's beats: awlen + 1, a register
        m.d.comb += [
            full.eq(unclaimed >= plan.length),
            paused.eq(~self.data.valid | all_taken),
            burst.eq(Mux(full, plan.length, unclaimed)),
            issued.eq(axi.awvalid & axi.awready),
            plan.advance.eq(issued),
            plan.used.eq(burst_q),
            lengths.w_data.eq(axi.awlen),
            lengths.w_en.eq(issued),
        ]
        with m.If(issued):
            m.d.sync += axi.awvalid.eq(0)
        # (a fresh plan's length is 0 exactly when nothing is left: a narrow test)
        with m.Elif(~axi.awvalid & plan.fresh & (plan.length != 0) & ~ending & self.busy
                    & (full | (paused & (unclaimed != 0))) & lengths.w_rdy
                    & (awaiting + lengths.level < self.bursts)):
            m.d.sync += [
                axi.awvalid.eq(1),
                axi.awaddr.eq(plan.address),
                axi.awlen.eq(burst - 1),
                burst_q.eq(burst),
            ]
        m.d.sync += unclaimed.eq(unclaimed + taken - Mux(issued, burst_q, 0))

        # W: the beats of the issued bursts, in order, wlast on each burst's last beat.
        beat = Signal(8)             # beats of the current burst already sent
        sent = Signal()
        burst_done = Signal()
        m.d.comb += [
            axi.wdata.eq(buffer.r_data),
            axi.wstrb.eq(~0),
            axi.wvalid.eq(buffer.r_rdy & lengths.r_rdy),
            axi.wlast.eq(beat == lengths.r_data),
            sent.eq(axi.wvalid & axi.wready),
            buffer.r_en.eq(sent),
            burst_done.eq(sent & axi.wlast),
            lengths.r_en.eq(burst_done),
        ]
        with m.If(burst_done):
            m.d.sync += beat.eq(0)
        with m.Elif(sent):
            m.d.sync += beat.eq(beat + 1)

        # B: every response is taken; the first that is not OKAY ends the transfer.
        answered = Signal()
        m.d.comb += [
            axi.bready.eq(1),
            answered.eq(axi.bvalid),
        ]
        m.d.sync += awaiting.eq(awaiting + burst_done - answered)
        with m.If(answered & (axi.bresp != RESP_OKAY) & (self.resp == RESP_OKAY)):
            m.d.sync += self.resp.eq(axi.bresp)
        m.d.comb += failing.eq((answered & (axi.bresp != RESP_OKAY)) | self.abort)
        with m.If(failing & self.busy):
            m.d.sync += ending.eq(1)

        with m.If(taken):
            m.d.sync += [to_take.eq(to_take - 1), all_taken.eq(to_take == 1)]

        with m.If(~self.busy):                   # cleared while idle, not by the start
            m.d.sync += [all_taken.eq(0), unclaimed.eq(0), beat.eq(0)]
        with m.If(starting):
            m.d.sync += [self.busy.eq(1), ending.eq(0), self.resp.eq(RESP_OKAY),
                         to_take.eq(self.count)]
        with m.Elif(self.busy & ~axi.awvalid & ((plan.left == 0) | ending) & (lengths.level == 0)
                    & (awaiting == 0) & ~burst_done & ~answered):
            m.d.sync += self.busy.eq(0)
        return m
