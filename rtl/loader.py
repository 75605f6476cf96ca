"""The weight loader: moves one tile of packed words from the weight SRAM, through the decoder,
into the array's shadow weights, one array row per cycle."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .array import row_select_bits, weight_shape
from .checks import check_config
from .command import job_signature
from .decoder import WeightDecoder
from .pe_int8 import Int8WeightLanes
from .skew import SkewBuffer
from .tile_counter import TileCounter
from .weight_buffer import WeightBuffer


__all__ = ["WeightLoader"]


class WeightLoader(wiring.Component):
    """Loads each tile of the job into the array's shadow weights.

    A tile is loaded only when all its ``rows`` words are in the weight SRAM (``level``), so
    its rows reach the array on consecutive cycles, matching the diagonal of the activations
    that will swap them in. The loader starts only while the shadow weights are empty, at the
    earliest the cycle after the ``swap`` that emptied them (``shadow_full`` is a register):
    the activations are delayed by one register more than this loader's :attr:`latency`
    (:func:`rtl.pipeline.input_delay`), so row ``k`` of a tile reaches each PE no earlier than
    the swap that retires the previous tile's weight there, and the input handshake does not
    reach the loader combinationally.

    Each word read is decoded (:class:`~rtl.decoder.WeightDecoder`, or
    :class:`~rtl.pe_int8.Int8WeightLanes` for the int8 baseline) and registered; column ``n``
    of the array receives its code ``n`` cycles later (a :class:`~rtl.skew.SkewBuffer`), and
    the row select along a chain of ``n`` registers, as the activations reach column ``n``
    ``n`` cycles after column 0.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`

    Members
    -------
    job : ``In(job_signature(config))``
        The running job (:class:`~rtl.command.JobControl`).
    level : ``In(range(weight_buffer_depth + 1))``
        Words in the weight SRAM (:class:`~rtl.weight_buffer.WeightBuffer`, a register).
    read : ``Out(1)``
        Read the SRAM's oldest word this cycle.
    word : ``In(word_bits)``
        The word read in the previous cycle.
    swap : ``In(1)``
        An accepted activation row starts a tile: the shadow weights become active.
    shadow_full : ``Out(1)``
        The next tile's weights are loaded or being loaded (register).
    code : ``Out(ArrayLayout(weight_shape, cols))``, load_row : ``Out(ArrayLayout(row_bits,
    cols))``, load_valid : ``Out(cols)``
        The array's load bus, skewed by column.

    Attributes
    ----------
    latency : int
        2: cycles from ``read`` to column 0's ``code`` / ``load_valid`` (the SRAM's read
        latency, then the decoded-word register); column ``n`` ``n`` cycles later.
    """

    latency = WeightBuffer.read_latency + 1

    def __init__(self, config):
        self.config = check_config(config)
        cfg = config
        row_bits = row_select_bits(cfg)
        super().__init__({
            "job": In(job_signature(cfg)),
            "level": In(range(cfg.weight_buffer_depth + 1)),
            "read": Out(1),
            "word": In(cfg.word_bits),
            "swap": In(1),
            "shadow_full": Out(1),
            "code": Out(data.ArrayLayout(weight_shape(cfg), cfg.cols)),
            "load_row": Out(data.ArrayLayout(unsigned(row_bits), cfg.cols)),
            "load_valid": Out(cfg.cols),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        row_bits = row_select_bits(cfg)
        if cfg.pe == "ternary":
            decoder = WeightDecoder(weight_format=cfg.format.name, lanes=cfg.cols,
                                    word_bits=cfg.word_bits)
        else:
            decoder = Int8WeightLanes(lanes=cfg.cols, weight_bits=cfg.weight_bits)
        assert decoder.latency == 0, "the loader registers the decoder's output once"
        m.submodules.decoder = decoder
        m.submodules.code_skew = code_skew = SkewBuffer.skew(weight_shape(cfg), cfg.cols)
        m.submodules.rows = rows = TileCounter(rows=cfg.rows, cols=cfg.cols,
                                               inner_bits=row_bits, k_bits=cfg.k_bits,
                                               n_bits=cfg.n_bits, beats=cfg.rows)
        m.d.comb += rows.follow(self.job)

        loading = Signal()
        start_load = Signal()
        reading = Signal()
        m.d.comb += [
            start_load.eq(self.job.busy & ~loading & ~rows.done &
                          (self.level >= cfg.rows) & ~self.shadow_full),
            reading.eq(start_load | loading),
            self.read.eq(reading),
            rows.step.eq(reading),
        ]
        with m.If(reading):
            m.d.sync += loading.eq(~rows.at_last)
        m.d.sync += self.shadow_full.eq(start_load | (self.shadow_full & ~self.swap))

        # The word is on the SRAM's output one cycle after the read; decode and register it.
        read_valid = Signal()
        read_row = Signal(row_bits)
        word_valid = Signal()
        word_row = Signal(row_bits)
        codes = Signal(data.ArrayLayout(weight_shape(cfg), cfg.cols), reset_less=True)
        m.d.comb += decoder.word.eq(self.word)
        m.d.sync += [
            read_valid.eq(reading), read_row.eq(rows.inner),    # inner is 0 while idle
            word_valid.eq(read_valid), word_row.eq(read_row), codes.eq(decoder.codes),
        ]
        # Column n sees the word n cycles later: codes through the skew buffer, the row
        # select along a chain of registers.
        m.d.comb += code_skew.i.eq(codes)
        select_valid, select_row = word_valid, word_row
        for n in range(cfg.cols):
            if n:
                valid_q = Signal(name=f"load_valid_{n}")
                row_q = Signal(row_bits, name=f"load_row_{n}")
                m.d.sync += [valid_q.eq(select_valid), row_q.eq(select_row)]
                select_valid, select_row = valid_q, row_q
            m.d.comb += [
                self.code[n].eq(code_skew.o[n]),
                self.load_valid[n].eq(select_valid),
                self.load_row[n].eq(select_row),
            ]
        return m
