"""The activation feeder: admits activation rows into the array and labels each with a token."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_config
from .command import job_signature
from .tile_counter import TileCounter


__all__ = ["token_layout", "ActivationFeeder"]


def token_layout(config):
    """What travels beside an activation row to the accumulator: ``valid`` (a real row),
    ``m`` (its row of X), ``first`` and ``last`` (of the first and of the last K tile)."""
    return data.StructLayout({"valid": 1, "m": range(config.max_m), "first": 1, "last": 1})


class ActivationFeeder(wiring.Component):
    """Accepts activation rows when the array, the accumulator and the result queue can take
    them, counts them over the job's tiles, and labels each accepted row with a token.

    ``activations.ready`` is high while a job runs, its rows are not all in, and:

    * at the first row of a tile, the whole tile waits in the weight store (``tile_ready``);
      that row starts the tile (``tile_start``);
    * in the last K tile of an N tile, the result queue has room (``has_room``); the row
      then claims a slot (``reserve``);
    * the row's previous visit to the accumulator is at least ``config.row_spacing`` cycles
      ago (4, or 1 when the accumulator forwards). Every tile takes its rows in the same
      order 0..M-1, so the previous visit of the next row is the M-th most recent accepted
      row: the next row waits while M or more of the last ``row_spacing - 1`` cycles accepted
      one (only possible with ``M < row_spacing``). That test is computed a cycle ahead into a
      register.

    Every term of ``activations.ready`` is a register or an input that is one (``job.busy``,
    ``tile_ready``, ``has_room``); none depends on ``activations.valid``.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`

    Members
    -------
    activations : ``In(stream.Signature(ArrayLayout(signed(act_bits), rows)))``
        The activation rows of the job, in tile order.
    job : ``In(job_signature(config))``
        The running job (:class:`~rtl.command.JobControl`).
    tile_ready : ``In(1)``
        A complete tile waits in the weight store (its register).
    has_room : ``In(1)``
        The result queue can take a claim (its register).
    token : ``Out(token_layout(config))``, x : ``Out(ArrayLayout(signed(act_bits), rows))``,
    tile_start : ``Out(1)``
        The accepted row (``token.valid`` is the handshake), its activations and whether it
        starts a tile: combinational, in the cycle of the handshake.
    reserve : ``Out(1)``
        Claim a result-queue slot (a row of a last K tile is accepted).

    Attributes
    ----------
    latency : int
        0: ``token``, ``x`` and ``tile_start`` leave in the cycle the row is accepted.
    """

    latency = 0

    def __init__(self, config):
        self.config = check_config(config)
        cfg = config
        rows = data.ArrayLayout(signed(cfg.act_bits), cfg.rows)
        super().__init__({
            "activations": In(stream.Signature(rows)),
            "job": In(job_signature(cfg)),
            "tile_ready": In(1),
            "has_room": In(1),
            "token": Out(token_layout(cfg)),
            "x": Out(rows),
            "tile_start": Out(1),
            "reserve": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        job = self.job
        m.submodules.rows = rows = TileCounter(rows=cfg.rows, cols=cfg.cols,
                                               inner_bits=cfg.m_bits, k_bits=cfg.k_bits,
                                               n_bits=cfg.n_bits)
        m.d.comb += rows.follow(job)

        accept = Signal()
        spacing = cfg.row_spacing
        spacing_wait = Signal()
        if spacing > 1:
            history = [Signal(name=f"accepted_{age}") for age in range(1, spacing - 1)]
            for newer, older in zip([accept] + history, history):
                m.d.sync += older.eq(newer)
            # Rows accepted in the last spacing - 1 cycles (this one included when
            # ``accept``), and M, both at one width so that the comparison has operands of
            # equal width.
            width = max(len(job.job_m), spacing.bit_length())
            recent = Signal(width)
            job_m = Signal(width)
            m.d.comb += [recent.eq(sum(history) + accept), job_m.eq(job.job_m)]
            m.d.sync += spacing_wait.eq(recent >= job_m)

        tile_start = rows.at_start
        m.d.comb += [
            self.activations.ready.eq(job.busy & ~rows.done & ~spacing_wait &
                                      (~tile_start | self.tile_ready) &
                                      (~rows.last_k | self.has_room)),
            accept.eq(self.activations.valid & self.activations.ready),
            rows.step.eq(accept),
            self.tile_start.eq(accept & tile_start),
            self.reserve.eq(accept & rows.last_k),
            self.token.valid.eq(accept),
            self.token.m.eq(rows.inner),
            self.token.first.eq(rows.first_k),
            self.token.last.eq(rows.last_k),
            self.x.eq(self.activations.payload),
        ]
        return m
