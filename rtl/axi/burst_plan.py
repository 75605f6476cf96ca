"""The burst plan: how a contiguous transfer splits into AXI4 INCR bursts."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_integer
from .bus import MAX_BURST_BEATS, PAGE_BYTES, check_data_bits


__all__ = ["BurstPlan", "burst_lengths"]


def burst_lengths(base, count, *, beat_bytes, max_burst, passes=1):
    """The bursts of a transfer of ``count`` beats from ``base`` (``passes`` times over), as
    :class:`BurstPlan` cuts it: ``[(address, beats)]``, each as long as possible but at most
    ``max_burst`` beats and not past a 4 KiB boundary."""
    for name, value, low in (("base", base, 0), ("count", count, 0), ("beat_bytes", beat_bytes, 1),
                             ("max_burst", max_burst, 1), ("passes", passes, 0)):
        check_integer(name, value, low)
    if base % beat_bytes:
        raise ValueError(f"base must be a multiple of beat_bytes ({beat_bytes}), not {base}")
    bursts = []
    for _ in range(max(passes, 1)):
        address, left = base, count
        while left:
            to_page = (PAGE_BYTES - address % PAGE_BYTES) // beat_bytes
            beats = min(left, max_burst, to_page)
            bursts.append((address, beats))
            address += beats * beat_bytes
            left -= beats
    return bursts


class BurstPlan(wiring.Component):
    """The address and length of a transfer's next burst (:func:`burst_lengths`).

    ``load`` starts a transfer of ``count`` beats at ``base`` (a multiple of the beat's bytes),
    read ``passes`` times over (0 counts as 1: the activations of a job are read once per N
    tile); ``advance`` says a burst of ``used`` beats (``length`` or fewer) was issued at
    ``address``. When a pass ends and another follows, ``address`` and ``left`` start again
    from ``base`` and ``count``. ``length`` is registered
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
    pass_bits : int
        Width of ``passes``.

    Members
    -------
    load : ``In(1)``, base : ``In(addr_bits)``, count : ``In(count_bits)``,
    passes : ``In(pass_bits)``
    advance : ``In(1)``, used : ``In(range(max_burst + 1))``
        A burst of ``used`` beats, 1 to ``length``, was issued at ``address`` (only while
        ``fresh`` and ``left`` is not 0).
    address : ``Out(addr_bits)``, left : ``Out(count_bits)``
        The next burst's address; beats of this pass not yet in an issued burst (registers;
        ``left`` is 0 only when the last pass is all issued).
    length : ``Out(range(max_burst + 1))``
        The next burst's beats (register; 0 when ``left`` is 0).
    last : ``Out(1)``
        The next burst of ``length`` beats is the transfer's last (register, with ``length``).
    fresh : ``Out(1)``
        ``length`` and ``last`` belong to ``address`` and ``left`` (register).
    """

    def __init__(self, *, addr_bits, data_bits, count_bits, max_burst, pass_bits=1):
        self.addr_bits = check_integer("addr_bits", addr_bits, 12, 64)
        self.beat_bytes = check_data_bits("data_bits", data_bits) // 8
        self.count_bits = check_integer("count_bits", count_bits, 1, 64)
        page_beats = min(MAX_BURST_BEATS, PAGE_BYTES // self.beat_bytes)
        self.max_burst = check_integer("max_burst", max_burst, 1, page_beats)
        self.pass_bits = check_integer("pass_bits", pass_bits, 1, 32)
        super().__init__({
            "load": In(1), "base": In(addr_bits), "count": In(count_bits),
            "passes": In(pass_bits),
            "advance": In(1), "used": In(range(self.max_burst + 1)),
            "address": Out(addr_bits), "left": Out(count_bits),
            "length": Out(range(self.max_burst + 1)), "last": Out(1), "fresh": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        shift = (self.beat_bytes - 1).bit_length()
        page_beats = PAGE_BYTES // self.beat_bytes
        to_page = Signal(range(page_beats + 1))
        # length = min(to_page, left, max_burst), its comparisons side by side (no carry chain
        # after a choice), ``left`` compared on its low bits only, its high bits merely tested
        # for zero (no carry chain as wide as the count)
        low_bits = min(self.count_bits, self.max_burst.bit_length())
        low = self.left[:low_bits]
        high_zero = Signal()
        left_small = Signal()         # left < max_burst
        left_fits = Signal()          # left <= to_page
        in_page = self.address[shift:12]          # the address's beat within its page
        m.d.comb += [
            to_page.eq(page_beats - in_page),
            high_zero.eq(self.left[low_bits:] == 0 if self.count_bits > low_bits else 1),
            left_small.eq(high_zero & (low < self.max_burst)),
            # left <= to_page and max_burst <= to_page, each against a constant
            left_fits.eq(high_zero & (in_page + low <= page_beats)),
        ]
        base = Signal.like(self.base)
        count = Signal.like(self.count)
        passes_left = Signal.like(self.passes)    # passes after this one
        takes_rest = Signal()
        rest = Signal()               # a register, with length
        m.d.comb += takes_rest.eq(high_zero & (low <= self.max_burst) & left_fits
                                  & (self.left != 0))
        m.d.sync += [
            self.length.eq(Mux(left_small, Mux(left_fits, low, to_page),
                               Mux(in_page <= page_beats - self.max_burst, self.max_burst,
                                   to_page))),
            # the burst takes every beat left of the pass (of the transfer)
            rest.eq(takes_rest),
            self.last.eq(takes_rest & (passes_left == 0)),
            self.fresh.eq(1),
        ]
        with m.If(self.load):
            m.d.sync += [self.address.eq(self.base), self.left.eq(self.count),
                         base.eq(self.base), count.eq(self.count),
                         passes_left.eq(Mux(self.passes == 0, 0, self.passes - 1)),
                         self.fresh.eq(0)]
        with m.Elif(self.advance):
            m.d.sync += [self.address.eq(self.address + (self.used << shift)),
                         self.left.eq(self.left - self.used),
                         self.fresh.eq(0)]
            # the pass's last burst (a used shorter than length never is: left stays above 0)
            with m.If(rest & (self.used == self.length) & (passes_left != 0)):
                m.d.sync += [self.address.eq(base), self.left.eq(count),
                             passes_left.eq(passes_left - 1)]
        return m
