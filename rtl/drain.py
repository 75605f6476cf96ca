"""The result drain: counts the result rows of a job and says when the last one leaves."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .checks import check_config
from .command import job_signature
from .tile_counter import TileCounter


__all__ = ["ResultDrain"]


class ResultDrain(wiring.Component):
    """Counts the result rows that leave the accelerator: M per N tile, ``ceil(N / cols)``
    N tiles per job (a row is one beat of ``results``, or ``result_beats_per_row`` beats with
    a narrower result stream: the top then counts a row on its last beat). ``finish`` is high
    in the cycle the job's last result beat is accepted, and :class:`~rtl.command.JobControl`
    then ends the job.

    ``finish`` is ``beat`` gated by two registers (the counter's last-beat and last-N-tile
    flags), so the result sink's ``ready`` reaches only ``busy`` and ``done``, through one AND
    gate, and no other port.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`

    Members
    -------
    job : ``In(job_signature(config))``
        The running job (:class:`~rtl.command.JobControl`).
    beat : ``In(1)``
        A result row finishes this cycle: its (last) beat is accepted on ``results``.
    finish : ``Out(1)``
        That beat is the job's last (combinational).

    Attributes
    ----------
    latency : int
        0: ``finish`` is high in the cycle of the last beat.
    """

    latency = 0

    def __init__(self, config):
        self.config = check_config(config)
        super().__init__({
            "job": In(job_signature(config)),
            "beat": In(1),
            "finish": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        m.submodules.rows = rows = TileCounter(rows=cfg.rows, cols=cfg.cols,
                                               inner_bits=cfg.m_bits, k_bits=cfg.k_bits,
                                               n_bits=cfg.n_bits, per_k_tile=False)
        m.d.comb += [
            *rows.follow(self.job),
            rows.step.eq(self.beat),
            self.finish.eq(self.beat & rows.at_last & rows.last_n),
        ]
        return m
