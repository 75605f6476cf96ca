"""The burst plan: how a contiguous transfer splits into AXI4 INCR bursts."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_integer
from .bus import MAX_BURST_BEATS, PAGE_BYTES, check_data_bits


__all__ = ["BurstPlan", "burst_lengths"]


def burst_lengths(base, count, *, beat_bytes, max_burst):
    """The bursts of a transfer of ``count`` beats from ``base``, as :class:`BurstPlan` cuts it:
    ``[(address, beats)]``, each as long as possible but at most ``max_burst`` beats and not
    past a 4 KiB boundary."""
    bursts, address = [], base
    while count:
        to_page = (PAGE_BYTES - address % PAGE_BYTES) // beat_bytes
        beats = min(count, max_burst, to_page)
        bursts.append((address, beats))
        address += beats * beat_bytes
        count -= beats
    return bursts


class BurstPlan(wiring.Component):
    """The address and length of a transfer's next burst (:func:`burst_lengths`).

    ``load`` starts a transfer of ``count`` beats at ``base`` (a multiple of the beat's bytes);
    ``advance`` says a burst of ``used`` beats (``length`` or fewer) was issued at ``address``. ``length`` is registered
    from ``address`` and ``left``, so it is valid (``fresh``) from the second cycle after a
    ``load`` or an ``advance``: a manager issues at most one burst every three cycles, which
    the shortest page-limited burst (32 beats at 1024 bits) never notices.

    Parameters
    ----------
    addr_bits : int
        12 to 64.
    data_bits : int
        The AXI4 data width, 32 to 1024.
    count_bits : int
        Width of ``count``.
    max_burst : int
        Longest burst, 1 to the beats of a 4 KiB page (at most 256).

    Members
    -------
    load : ``In(1)``, base : ``In(addr_bits)``, count : ``In(count_bits)``
    advance : ``In(1)``, used : ``In(range(max_burst + 1))``
        A burst of ``used`` beats, 1 to ``length``, was issued at ``address`` (only while
        ``fresh`` and ``left`` is not 0).
    address : ``Out(addr_bits)``, left : ``Out(count_bits)``
        The next burst's address; beats not yet in an issued burst (registers).
    length : ``Out(range(max_burst + 1))``
        The next burst's beats (register; 0 when ``left`` is 0).
    fresh : ``Out(1)``
        ``length`` belongs to ``address`` and ``left`` (register).
    """

    def __init__(self, *, addr_bits, data_bits, count_bits, max_burst):
        self.addr_bits = check_integer("addr_bits", addr_bits, 12, 64)
        self.beat_bytes = check_data_bits("data_bits", data_bits) // 8
        self.count_bits = check_integer("count_bits", count_bits, 1, 64)
        page_beats = min(MAX_BURST_BEATS, PAGE_BYTES // self.beat_bytes)
        self.max_burst = check_integer("max_burst", max_burst, 1, page_beats)
        super().__init__({
            "load": In(1), "base": In(addr_bits), "count": In(count_bits),
            "advance": In(1), "used": In(range(self.max_burst + 1)),
            "address": Out(addr_bits), "left": Out(count_bits),
            "length": Out(range(self.max_burst + 1)), "fresh": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        shift = (self.beat_bytes - 1).bit_length()
        page_beats = PAGE_BYTES // self.beat_bytes
        to_page = Signal(range(page_beats + 1))
        shortest = Signal.like(self.length)
        m.d.comb += [
            to_page.eq(page_beats - self.address[shift:12]),
            shortest.eq(Mux(self.left < self.max_burst, self.left, self.max_burst)),
        ]
        m.d.sync += [
            self.length.eq(Mux(to_page < shortest, to_page, shortest)),
            self.fresh.eq(1),
        ]
        with m.If(self.load):
            m.d.sync += [self.address.eq(self.base), self.left.eq(self.count),
                         self.fresh.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += [self.address.eq(self.address + (self.used << shift)),
                         self.left.eq(self.left - self.used),
                         self.fresh.eq(0)]
        return m
