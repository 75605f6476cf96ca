"""Nested beat / K-tile / N-tile counters over one stream of a job."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .checks import check_bool, check_integer


__all__ = ["TileCounter"]


class TileCounter(wiring.Component):
    """Counts the beats of one stream of a job: ``beats`` per tile, then the K tiles of
    ``rows`` (unless ``per_k_tile`` is false, for the results, which come once per N tile),
    then the N tiles of ``cols``.

    Every flag the sequencer reads is a register: ``at_start`` (``inner == 0``), ``at_last``
    (the last beat of a tile), ``first_k``, ``last_k``, ``last_n`` and ``done``. K and N still
    to go count down by ``rows`` and ``cols`` and are compared with constants, and ``at_last``
    is compared one beat ahead (``inner == beats - 2``), so no adder or comparator sits between
    these registers and the stream handshakes that use them. No multiplier, no divider.

    The counter has no handshake of its own and never holds anything back: ``step`` is the
    handshake of the stream it counts, and its owner gates that stream's ``ready`` with
    ``done`` or ``at_last``.

    Parameters (keyword only)
    -------------------------
    rows, cols : int
        The tile's K and N extents (the array size), at least 1.
    inner_bits : int
        Width of the beat counter ``inner``.
    k_bits, n_bits : int
        Widths of the job's K and N.
    beats : int or None
        Beats per tile, when fixed (the ``rows`` weight words of a tile); None when the job
        sets it (the M activation or result rows), through ``clear_single``, ``single_beat``
        and ``beats_minus_2``.
    per_k_tile : bool
        Count K tiles (weights, activations) or not (results, once per N tile).

    Members
    -------
    clear : ``In(1)``, clear_k : ``In(k_bits)``, clear_n : ``In(n_bits)``
        Start a job of ``clear_k`` x ``clear_n`` (``clear_k`` only with ``per_k_tile``).
    clear_single : ``In(1)``
        (``beats=None``) The new job's tiles have one beat.
    single_beat : ``In(1)``, beats_minus_2 : ``In(inner_bits)``
        (``beats=None``) The running job's beats per tile is 1, and that number minus 2: per-job
        registers.
    job_k : ``In(k_bits)``
        (``per_k_tile``) The running job's K, reloaded at every N tile.
    step : ``In(1)``
        One beat of the stream this cycle.
    inner : ``Out(inner_bits)``
        Beats of the current tile so far (0 while idle).
    at_start, at_last, first_k, last_k, last_n, done : ``Out(1)``
        Registers (``first_k`` and ``last_k`` are constant 1 without ``per_k_tile``).

    Attributes
    ----------
    latency : int
        1: every output is a register updated the cycle after ``clear`` or ``step``.
    """

    latency = 1

    def __init__(self, *, rows, cols, inner_bits, k_bits, n_bits, beats=None,
                 per_k_tile=True):
        self.rows = check_integer("rows", rows, 1)
        self.cols = check_integer("cols", cols, 1)
        self.inner_bits = check_integer("inner_bits", inner_bits, 1)
        self.k_bits = check_integer("k_bits", k_bits, 1)
        self.n_bits = check_integer("n_bits", n_bits, 1)
        if beats is not None:
            check_integer("beats", beats, 1)
            if beats > 1 << inner_bits:
                raise ValueError(f"beats must be at most {1 << inner_bits} "
                                 f"(inner_bits={inner_bits}), not {beats}")
        self.beats = beats
        self.per_k_tile = check_bool("per_k_tile", per_k_tile)
        members = {
            "clear": In(1),
            "clear_n": In(n_bits),
            "step": In(1),
            "inner": Out(inner_bits),
            "at_start": Out(1),
            "at_last": Out(1),
            "first_k": Out(1),
            "last_k": Out(1),
            "last_n": Out(1),
            "done": Out(1),
        }
        if per_k_tile:
            members.update({"clear_k": In(k_bits), "job_k": In(k_bits)})
        if beats is None:
            members.update({"clear_single": In(1), "single_beat": In(1),
                            "beats_minus_2": In(inner_bits)})
        super().__init__(members)

    def follow(self, job):
        """Statements (for ``m.d.comb``) that clear this counter at every job start of ``job``
        (a :func:`~rtl.command.job_signature` interface) and give it the job's sizes.

        The counter is held clear while no job runs (``job.busy`` low), loading the sizes on
        offer every cycle, so that it holds the accepted command's sizes once the job starts:
        the same as clearing on ``job.start`` (nothing steps the counter while idle), but the
        clear is a register, not the start's size checks on the command."""
        statements = [self.clear.eq(~job.busy), self.clear_n.eq(job.size.n)]
        if self.per_k_tile:
            statements += [self.clear_k.eq(job.size.k), self.job_k.eq(job.job_k)]
        if self.beats is None:
            statements += [self.clear_single.eq(job.size.m == 1),
                           self.single_beat.eq(job.single_m),
                           self.beats_minus_2.eq(job.m_minus_2)]
        return statements

    def elaborate(self, platform):
        m = Module()
        if self.beats is None:
            clear_single, single_beat = self.clear_single, self.single_beat
            beats_minus_2 = self.beats_minus_2
        else:
            clear_single = single_beat = C(self.beats == 1, 1)
            beats_minus_2 = max(self.beats - 2, 0)

        if self.per_k_tile:
            k_left = Signal(self.k_bits)
            first_k = Signal()
            last_k = Signal()
            # The job has a single K tile: kept from the clear, so that restarting K at an N
            # tile copies a register instead of comparing job_k (a carry chain that yosys
            # would otherwise share with k_left's comparison behind a step-driven choice).
            single_k = Signal()
            m.d.comb += [self.first_k.eq(first_k), self.last_k.eq(last_k)]
        else:
            m.d.comb += [self.first_k.eq(1), self.last_k.eq(1)]

        def restart_k(k, single):
            if not self.per_k_tile:
                return []
            return [k_left.eq(k), first_k.eq(1), last_k.eq(single)]

        n_left = Signal(self.n_bits)
        with m.If(self.clear):
            m.d.sync += [
                self.inner.eq(0), self.at_start.eq(1), self.at_last.eq(clear_single),
                self.done.eq(0), n_left.eq(self.clear_n),
                self.last_n.eq(self.clear_n <= self.cols),
            ]
            if self.per_k_tile:
                single = self.clear_k <= self.rows
                m.d.sync += [*restart_k(self.clear_k, single), single_k.eq(single)]

        def next_n_tile():
            with m.If(self.last_n):
                m.d.sync += self.done.eq(1)
            with m.Else():
                m.d.sync += [n_left.eq(n_left - self.cols),
                             self.last_n.eq(n_left <= 2 * self.cols)]

        with m.If(self.step):
            last_inner = self.at_last
            m.d.sync += [
                self.at_last.eq(Mux(last_inner, single_beat, self.inner == beats_minus_2)),
                self.at_start.eq(last_inner),
            ]
            with m.If(last_inner):
                m.d.sync += self.inner.eq(0)
                if not self.per_k_tile:
                    next_n_tile()
                else:
                    with m.If(last_k):
                        m.d.sync += restart_k(self.job_k, single_k)
                        next_n_tile()
                    with m.Else():
                        m.d.sync += [k_left.eq(k_left - self.rows), first_k.eq(0),
                                     last_k.eq(k_left <= 2 * self.rows)]
            with m.Else():
                m.d.sync += self.inner.eq(self.inner + 1)
        return m
