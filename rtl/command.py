"""The command port and the job registers: accepts one job at a time and says when it is done."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_config


__all__ = ["command_layout", "job_signature", "JobControl"]


def command_layout(config):
    """The command payload: ``m``, ``k``, ``n`` (in that order from bit 0), unsigned, as wide as
    ``max_m``, ``max_k`` and ``max_n``."""
    return data.StructLayout({"m": config.m_bits, "k": config.k_bits, "n": config.n_bits})


def job_signature(config):
    """What the sequencer's blocks read about the running job, as :class:`JobControl` drives it
    (all ``Out``; the readers take it flipped): ``busy``, ``start`` and ``size`` (a job starts
    this cycle, with these sizes), and the registers ``job_m``, ``job_k``, ``single_m``
    (``M == 1``) and ``m_minus_2`` (``M - 2``)."""
    return wiring.Signature({
        "busy": Out(1),
        "start": Out(1),
        "size": Out(command_layout(config)),
        "job_m": Out(config.m_bits),
        "job_k": Out(config.k_bits),
        "single_m": Out(1),
        "m_minus_2": Out(config.m_bits),
    })


class JobControl(wiring.Component):
    """Takes job commands from a stream, holds the running job's sizes, and tracks ``busy``.

    A command is accepted on a cycle with ``cmd.valid`` and ``cmd.ready``; ``cmd.ready`` is
    ``~job.busy``, a register, independent of ``cmd.valid`` (a command offered while a job runs
    waits, held by the source, until ``busy`` falls). An accepted command whose sizes are all
    in ``1..max_m``, ``1..max_k``, ``1..max_n`` starts a job: ``start`` is high in that cycle
    with the sizes on ``size``, and ``busy`` is high from the next cycle until the cycle after
    ``finish``. Other sizes start nothing and set ``cmd_error``, which the next valid command
    clears.

    Parameters
    ----------
    config : :class:`~rtl.config.AccelConfig`

    Members
    -------
    cmd : ``In(stream.Signature(command_layout(config)))``
        Job commands.
    job : ``Out(job_signature(config))``
        The running job, for the tile counters: ``job.busy`` (register, high while a job runs),
        ``job.start`` and ``job.size`` (combinational, in the cycle a job's command is
        accepted), ``job.job_m``, ``job.job_k``, ``job.single_m`` (``M == 1``) and
        ``job.m_minus_2`` (``M - 2``), registers.
    done : ``Out(1)``
        One-cycle pulse in the cycle after ``finish`` (register).
    cmd_error : ``Out(1)``
        The last command accepted had invalid sizes and was ignored (register).
    finish : ``In(1)``
        The job's last result beat is accepted this cycle.

    Attributes
    ----------
    latency : int
        1: ``job.busy`` and the job registers follow an accepted command by one cycle, ``done``
        follows ``finish`` by one cycle.
    """

    latency = 1

    def __init__(self, config):
        self.config = check_config(config)
        cfg = config
        super().__init__({
            "cmd": In(stream.Signature(command_layout(cfg))),
            "job": Out(job_signature(cfg)),
            "done": Out(1),
            "cmd_error": Out(1),
            "finish": In(1),
        })

    def elaborate(self, platform):
        m = Module()
        cfg = self.config
        cmd = self.cmd.payload
        job = self.job

        def in_range(size, top):
            # The upper bound is a real check only when the field can exceed it.
            check = size != 0
            if top < (1 << len(size)) - 1:
                check &= size <= top
            return check

        sizes_ok = Signal()
        accepted = Signal()
        m.d.comb += [
            self.cmd.ready.eq(~job.busy),
            accepted.eq(self.cmd.valid & self.cmd.ready),
            sizes_ok.eq(in_range(cmd.m, cfg.max_m) & in_range(cmd.k, cfg.max_k) &
                        in_range(cmd.n, cfg.max_n)),
            job.start.eq(accepted & sizes_ok),
            job.size.eq(cmd),
        ]
        m.d.sync += self.done.eq(0)
        with m.If(accepted):
            with m.If(sizes_ok):
                m.d.sync += [
                    job.job_m.eq(cmd.m), job.job_k.eq(cmd.k),
                    job.single_m.eq(cmd.m == 1), job.m_minus_2.eq(cmd.m - 2),
                    job.busy.eq(1), self.cmd_error.eq(0),
                ]
            with m.Else():
                m.d.sync += self.cmd_error.eq(1)
        with m.If(self.finish):
            m.d.sync += [job.busy.eq(0), self.done.eq(1)]
        return m
