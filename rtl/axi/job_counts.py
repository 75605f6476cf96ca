"""The beat counts of a job of the memory-mapped top, from its sizes."""

import math

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..checks import check_config


__all__ = ["JobCounts", "SETUP_CYCLES"]

#: Register stages from ``start`` to ``go`` (the counts are valid with ``go``).
SETUP_CYCLES = 3


def _ceil_div(value, divisor):
    """``ceil(value / divisor)`` for a constant ``divisor``: a shift when it is a power of two."""
    if divisor & (divisor - 1) == 0:
        return (value + (divisor - 1)) >> (divisor.bit_length() - 1)
    return (value + (divisor - 1)) // divisor


class JobCounts(wiring.Component):
    """How many beats each engine of the memory-mapped top moves for a job ``(M, K, N)``:
    :meth:`rtl.config.AccelConfig.weight_beats` weight beats, ``ceil(K/rows) * M`` activation
    beats read ``ceil(N/cols)`` times, and ``ceil(N/cols) * M * result_beats_per_row`` result
    beats. Three register stages (two constant divisions, then three products, then the
    weight beats' division); ``go`` pulses :data:`SETUP_CYCLES` cycles after ``start`` with the
    counts valid, and they hold until the next ``start``'s stages replace them. The sizes are
    read in the cycle of ``start`` (``k``, ``n``) and the cycle after (``m``); no logic lies
    between ``start`` and a multiplier (each stage is enabled by the registered ``start`` of
    the stage before).

    Members
    -------
    start : ``In(1)``; m, k, n : ``In``
        A job's sizes (``m_bits``, ``k_bits``, ``n_bits`` wide).
    go : ``Out(1)``
    weight_beats, activation_beats, activation_passes, result_beats : ``Out``
        Registers, wide enough for ``max_m``, ``max_k`` and ``max_n``.
    """

    def __init__(self, config):
        self.config = cfg = check_config(config)
        k_tiles = math.ceil(cfg.max_k / cfg.rows)
        n_tiles = math.ceil(cfg.max_n / cfg.cols)
        super().__init__({
            "start": In(1),
            "m": In(cfg.m_bits), "k": In(cfg.k_bits), "n": In(cfg.n_bits),
            "go": Out(1),
            "weight_beats": Out(range(cfg.weight_beats(cfg.max_k, cfg.max_n) + 1)),
            "activation_beats": Out(range(k_tiles * cfg.max_m + 1)),
            "activation_passes": Out(range(n_tiles + 1)),
            "result_beats": Out(range(n_tiles * cfg.max_m * cfg.result_beats_per_row + 1)),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        k_tiles = Signal(range(math.ceil(cfg.max_k / cfg.rows) + 1))
        n_tiles = Signal.like(self.activation_passes)
        tiles = Signal(range(math.ceil(cfg.max_k / cfg.rows) * math.ceil(cfg.max_n / cfg.cols)
                             + 1))
        rows = Signal(range(math.ceil(cfg.max_n / cfg.cols) * cfg.max_m + 1))
        stage = Signal(SETUP_CYCLES)
        m.d.sync += [
            stage.eq(Cat(self.start, stage[:-1])),
            # stage 1, every cycle (constant divisions of the sizes)
            k_tiles.eq(_ceil_div(self.k, cfg.rows)),
            n_tiles.eq(_ceil_div(self.n, cfg.cols)),
        ]
        with m.If(stage[0]):                    # stage 2: the products
            m.d.sync += [
                tiles.eq(k_tiles * n_tiles),
                self.activation_beats.eq(k_tiles * self.m),
                rows.eq(n_tiles * self.m),
                self.activation_passes.eq(n_tiles),
            ]
        with m.If(stage[1]):                    # stage 3
            m.d.sync += [
                self.weight_beats.eq(_ceil_div(tiles * cfg.rows, cfg.rows_per_beat)),
                self.result_beats.eq(rows * cfg.result_beats_per_row),
            ]
        m.d.comb += self.go.eq(stage[-1])
        return m
