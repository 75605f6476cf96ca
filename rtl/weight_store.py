"""The weight store: takes the ``weights`` stream at ``W`` bits per beat, decodes it, and keeps
each tile in ``rows`` banks (one per array row) until the array reads them on its diagonal."""

import math

from amaranth import *
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .array import weight_row_bits, weight_shape
from .checks import check_config
from .command import job_signature
from .decoder import WeightDecoder
from .pe_int8 import Int8WeightLanes
from .tile_counter import TileCounter


__all__ = ["WeightStore", "reachable_row_offsets"]


def reachable_row_offsets(config):
    """The rows of a tile that can open a beat: a job's first beat starts at row 0 and each
    beat advances ``k = rows_per_beat`` rows (modulo ``rows``), so the multiples of
    ``gcd(k, rows)``."""
    step = math.gcd(config.rows_per_beat, config.rows)
    return range(0, config.rows, step)


class WeightStore(wiring.Component):
    """Decodes ``weights`` beats into tile rows and holds them, ``rows`` banks of
    ``wmem_tiles`` slots, until the array's diagonal reads them.

    A beat of ``W = config.word_bits`` bits carries ``k = config.rows_per_beat`` whole tile
    rows of ``cols`` weights, packed together in the configuration's format; the job's rows
    follow each other tile after tile (``docs/interface.md``), so a beat may end one tile and
    begin the next, and the job's last beat is padded with zero rows, which are dropped. The
    beat is decoded at full rate (:class:`~rtl.decoder.WeightDecoder` over ``k * cols`` lanes,
    or :class:`~rtl.pe_int8.Int8WeightLanes` for the int8 baseline) and registered, and the
    next cycle each of its rows is written into the bank of its array row, in the slot of its
    tile. Where the register sits is :meth:`decode_stage`: so that a block RAM behind
    ``weights`` (the memory-mapped top's FIFO) reaches a register through no logic, an ``i2``
    or int8 beat is registered as it arrives and decoded in the write stage, while a ``t5``
    beat is decoded first, by byte tables that synthesis puts in block-RAM ROMs whose own
    address register then takes the port.
    When ``k`` divides ``rows`` every bank always takes the same lane group of the beat;
    otherwise a bank chooses among the ``k / gcd(k, rows)`` groups that can land on it.

    Bank ``r`` is read on the array's diagonal: ``fetch`` reads bank 0, and bank ``r`` is read
    ``r`` cycles later (a one-bit shift chain); each bank's read register is the weight row
    its array row multiplies until the next tile's read, so the data waits where it is stored
    and nothing is skewed. Memory: ``rows * wmem_tiles * cols`` decoded weights, in ``rows``
    simple-dual-port memories (yosys picks block or distributed RAM by size).

    Flow control (all registers, no ``ready`` depends on a ``valid``):

    * A slot is taken by the beat holding its tile's row 0 and freed when bank ``rows - 1``
      reads it; ``weights.ready`` is low while a beat would need a slot and all are taken.
    * ``tile_ready`` is high while a tile is complete in the store and not yet started; the
      activation feeder starts a tile (``start``) only then, so every bank holds its row by
      the time the diagonal reads it, whatever the weight source's pauses.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`

    Members
    -------
    weights : ``In(stream.Signature(word_bits))``
        The job's weight beats. ``ready`` is high while a job runs, it still expects beats,
        and the beat's tile has a slot.
    job : ``In(job_signature(config))``
        The running job (:class:`~rtl.command.JobControl`).
    tile_ready : ``Out(1)``
        A complete tile waits (register).
    start : ``In(1)``
        The activation feeder starts the waiting tile this cycle.
    fetch : ``In(1)``
        Read the started tile's row 0 now, row ``r`` ``r`` cycles later.
    rows_out : ``Out(ArrayLayout(unsigned(cols * weight_bits), rows))``
        Row ``r``'s weights (weight ``n`` in bits ``[w*n + w-1 : w*n]``, as
        :class:`~rtl.array.SystolicArray` takes them), from :attr:`read_latency` cycles after
        its read until the next.

    Attributes
    ----------
    read_latency : int
        1: from a bank's read to its row on ``rows_out``.
    """

    read_latency = 1

    @staticmethod
    def decode_stage(config):
        """Where the beat is decoded: 0, in the cycle it is taken, before the beat register
        (``t5``: a 256-entry table per byte, which yosys maps onto a DP16KD ROM per byte with
        the beat register as its read register); 1, in the write stage, from the beat
        registered as it came (``i2`` and the int8 baseline: a LUT level per lane)."""
        return 0 if config.pe == "ternary" and config.format.name == "t5" else 1

    @staticmethod
    def free_delay(config):
        """Cycles from ``fetch`` to the first cycle the freed slot can take a beat: ``rows``
        (bank ``rows - 1`` is read ``rows - 1`` cycles after ``fetch``, and the slot count is
        a register)."""
        return config.rows

    def __init__(self, config):
        self.config = check_config(config)
        cfg = config
        super().__init__({
            "weights": In(stream.Signature(cfg.word_bits)),
            "job": In(job_signature(cfg)),
            "tile_ready": Out(1),
            "start": In(1),
            "fetch": In(1),
            "rows_out": Out(data.ArrayLayout(unsigned(weight_row_bits(cfg)), cfg.rows)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        rows, per_beat, slots = cfg.rows, cfg.rows_per_beat, cfg.weight_store_tiles
        lanes = per_beat * cfg.cols
        if cfg.pe == "ternary":
            decoder = WeightDecoder(weight_format=cfg.format.name, lanes=lanes,
                                    word_bits=cfg.word_bits)
        else:
            decoder = Int8WeightLanes(lanes=lanes, weight_bits=cfg.weight_bits)
        m.submodules.decoder = decoder
        m.submodules.tiles = tiles = TileCounter(rows=rows, cols=cfg.cols, inner_bits=1,
                                                 k_bits=cfg.k_bits, n_bits=cfg.n_bits, beats=1)
        m.d.comb += tiles.follow(self.job)

        # ---- the writer: which rows the next beat holds ---------------------------------
        row_select = max(1, (rows - 1).bit_length())
        row0 = Signal(row_select)           # the tile row the next beat opens with
        slot = Signal(range(slots))         # the slot of that row's tile
        taken = Signal(range(slots + 1))    # slots holding a tile not yet read to its end
        waiting = Signal(range(slots + 1))  # complete tiles not yet started
        last_tile = Signal()
        opens_tile = Signal()               # the beat holds row 0 of a tile that needs a slot
        accept = Signal()
        freed = Signal()
        room = Signal(init=1)               # a slot is free (register)
        # What row0 says about the next beat, kept in registers beside it (so that no
        # comparison sits between row0 and the tile counter's enables): it opens a tile, it
        # ends one, it spills into the next. Flags that cannot change are constants.
        at_zero = Signal(init=1)
        ends_tile = Signal(init=1) if per_beat < rows else C(1, 1)
        spills = Signal() if rows % per_beat else C(0, 1)
        m.d.comb += [
            last_tile.eq(tiles.last_k & tiles.last_n),
            opens_tile.eq(at_zero | (spills & ~last_tile)),
            self.weights.ready.eq(self.job.busy & ~tiles.done & (~opens_tile | room)),
            accept.eq(self.weights.valid & self.weights.ready),
            tiles.step.eq(accept & ends_tile),
        ]
        # The row the following beat opens with, from a table over the reachable rows (no
        # adder: row0 + k would be wider than row0); every next value is one expression.
        following = C(0, row_select)
        for opening in reachable_row_offsets(cfg):
            following = Mux(row0 == opening, C((opening + per_beat) % rows, row_select),
                            following)
        row0_next = Signal(row_select)
        # Held at 0 while no job runs (no beat is taken then), so that a job starts at row 0
        # with no path from the command's checks (job.start) to these registers.
        m.d.comb += row0_next.eq(Mux(~self.job.busy, 0,
                                     Mux(accept, Mux(ends_tile & last_tile, 0, following),
                                         row0)))
        m.d.sync += [row0.eq(row0_next), at_zero.eq(row0_next == 0)]
        if per_beat < rows:
            m.d.sync += ends_tile.eq(row0_next >= rows - per_beat)
        if rows % per_beat:
            m.d.sync += spills.eq(row0_next > rows - per_beat)
        with m.If(accept & ends_tile):
            m.d.sync += slot.eq(Mux(slot == slots - 1, 0, slot + 1))
        # The two counts, and their flags for the next cycle chosen by the handshakes among
        # comparisons of the counts themselves (no adder between a handshake and a flag:
        # ``room`` is ``taken < slots`` and ``tile_ready`` is ``waiting != 0``, as registers).
        claim = Signal()
        m.d.comb += claim.eq(accept & opens_tile)
        m.d.sync += [
            taken.eq(taken + claim - freed),
            room.eq(Mux(claim, Mux(freed, room, taken <= slots - 2), freed | room)),
        ]
        complete = Signal()
        m.d.comb += complete.eq(accept & ends_tile)
        m.d.sync += [
            waiting.eq(waiting + complete - self.start),
            self.tile_ready.eq(Mux(complete, self.tile_ready | ~self.start,
                                   Mux(self.start, waiting >= 2, self.tile_ready))),
        ]

        # ---- the write stage: the beat, registered, into the banks --------------------------
        # Registered as it came and decoded here, or decoded first (decode_stage): either way
        # the port reaches a register (or a ROM's address register) through no logic.
        beat = Signal(lanes * Shape.cast(weight_shape(cfg)).width)
        write = Signal()
        write_row0 = Signal(row_select)
        write_slot = Signal(range(slots))
        write_spill = Signal()              # rows past the tile's end go to the next tile
        m.d.sync += [
            write.eq(accept), write_row0.eq(row0), write_slot.eq(slot),
            write_spill.eq(~last_tile),
        ]
        if self.decode_stage(cfg):
            word = Signal(cfg.word_bits, reset_less=True)
            m.d.sync += word.eq(self.weights.payload)
            m.d.comb += [decoder.word.eq(word), beat.eq(decoder.codes.as_value())]
        else:
            beat_q = Signal.like(beat, reset_less=True)
            m.d.comb += [decoder.word.eq(self.weights.payload), beat.eq(beat_q)]
            m.d.sync += beat_q.eq(decoder.codes.as_value())
        next_slot = Signal(range(slots))
        m.d.comb += next_slot.eq(Mux(write_slot == slots - 1, 0, write_slot + 1))
        row_bits = weight_row_bits(cfg)
        offsets = set(reachable_row_offsets(cfg))

        # ---- the banks, read down the diagonal ------------------------------------------
        strobe = self.fetch
        for r in range(rows):
            if r:
                delayed = Signal(name=f"fetch_{r}")
                m.d.sync += delayed.eq(strobe)
                strobe = delayed
            bank = memory.Memory(shape=unsigned(row_bits), depth=slots, init=[])
            m.submodules[f"bank_{r}"] = bank
            port_w = bank.write_port()
            port_r = bank.read_port()
            # The beat's lane groups that can land on bank r, each with the opening row that
            # puts it here; written as one expression (no comb process that an event-driven
            # simulator might not run before its first input change).
            sources = [(lane_row, (r - lane_row) % rows) for lane_row in range(per_beat)
                       if (r - lane_row) % rows in offsets]
            data_in = C(0, row_bits)
            addr = C(0, range(slots))
            enable = C(0, 1)
            for lane_row, opening in sources:
                here = write_row0 == opening
                wraps = r < opening                 # the row belongs to the next tile
                data_in = Mux(here, beat[lane_row * row_bits:(lane_row + 1) * row_bits],
                              data_in)
                addr = Mux(here, next_slot if wraps else write_slot, addr)
                enable = Mux(here, write & (write_spill if wraps else 1), enable)
            if len(sources) == 1:       # k divides rows: one lane group, always the same
                lane_row, opening = sources[0]
                data_in = beat[lane_row * row_bits:(lane_row + 1) * row_bits]
                addr = next_slot if r < opening else write_slot
            m.d.comb += [port_w.data.eq(data_in), port_w.addr.eq(addr), port_w.en.eq(enable)]
            read_slot = Signal(range(slots), name=f"read_slot_{r}")
            with m.If(strobe):
                m.d.sync += read_slot.eq(Mux(read_slot == slots - 1, 0, read_slot + 1))
            m.d.comb += [
                port_r.addr.eq(read_slot),
                port_r.en.eq(strobe),
                self.rows_out[r].eq(port_r.data),
            ]
        m.d.comb += freed.eq(strobe)
        return m
