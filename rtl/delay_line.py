"""A fixed delay line: the activation input registers and the token pipe beside the array."""

from amaranth import *
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .checks import check_bool, check_integer, check_shape


__all__ = ["DelayLine"]


class DelayLine(wiring.Component):
    """``o`` is ``i`` delayed by ``delay`` cycles, through a chain of ``delay`` registers that
    advance every cycle (the accelerator's datapath never stalls, so neither does this).

    The accelerator uses three. The *input registers* carry an accepted activation row
    towards the array: their delay is the fetch register plus the weight store's read
    latency, so that a new tile's weights and its first activations meet. The *fetch
    register* carries a tile's start to the weight store. The *token pipe* carries each
    accepted row's token (valid, row ``m``, first and last K tile) beside the array, so that
    it meets the row's column sums at the accumulator; its ``tap`` output leads ``o`` by the
    accumulator's read-ahead. Both delays are computed in :mod:`rtl.pipeline` from the
    blocks' declared latencies.

    Parameters
    ----------
    shape : shape-castable
        What one stage holds.
    delay : int
        Registers in the chain, at least 0 (0 is a wire).
    tap : int or None
        If given, ``tap_o`` is ``i`` delayed by ``tap`` cycles (``0 <= tap <= delay``), taken
        from the same chain.
    reset_less : bool
        Registers without reset (a payload) or reset to 0 (valid bits, flags).

    Members
    -------
    i : ``In(shape)``
    o : ``Out(shape)``
    tap_o : ``Out(shape)``
        Only with ``tap``.

    Attributes
    ----------
    delay : int
        The latency of ``o``, in cycles.
    """

    def __init__(self, shape, *, delay, tap=None, reset_less=False):
        self.shape = check_shape("shape", shape)
        self.delay = check_integer("delay", delay, 0)
        if tap is not None:
            check_integer("tap", tap, 0)
            if tap > delay:
                raise ValueError(f"tap must be at most delay={delay}, not {tap}")
        self.tap = tap
        self.reset_less = check_bool("reset_less", reset_less)
        members = {"i": In(shape), "o": Out(shape)}
        if tap is not None:
            members["tap_o"] = Out(shape)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        stages = [self.i]
        for stage in range(1, self.delay + 1):
            reg = Signal(self.shape, name=f"stage{stage}", reset_less=self.reset_less)
            m.d.sync += reg.eq(stages[-1])
            stages.append(reg)
        m.d.comb += self.o.eq(stages[self.delay])
        if self.tap is not None:
            m.d.comb += self.tap_o.eq(stages[self.tap])
        return m
