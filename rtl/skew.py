"""Per-lane delay lines that skew a vector into a systolic array's diagonal wavefront, or
deskew it back."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_shape


__all__ = ["SkewBuffer"]


class SkewBuffer(wiring.Component):
    """Delays lane ``i`` of a vector by ``delays[i]`` cycles.

    Used three times in the accelerator: activations enter array row ``k`` after ``k`` cycles,
    decoded weights reach array column ``n`` after ``n`` cycles, and the column sums leaving the
    bottom of the array are realigned by delaying column ``n`` by ``cols - 1 - n`` cycles.

    The registers advance every cycle (the accelerator never stalls its datapath). A lane with
    delay 0 is a wire. Registers are not reset.

    Parameters
    ----------
    shape : shape-castable
        The shape of one lane.
    delays : sequence of int
        The delay of each lane, in cycles, at least 0; at least one lane.

    Members
    -------
    i : ``In(ArrayLayout(shape, len(delays)))``
    o : ``Out(ArrayLayout(shape, len(delays)))``

    Attributes
    ----------
    delays : tuple of int
        The latency of each lane, in cycles (:meth:`skew_delays` and :meth:`deskew_delays`
        give those of the two standard forms without building one).
    """

    def __init__(self, shape, delays):
        self.shape = check_shape("shape", shape)
        if isinstance(delays, (str, bytes)) or not hasattr(delays, "__iter__"):
            raise TypeError(f"delays must be a sequence of integers, not {delays!r}")
        delays = tuple(delays)
        if any(isinstance(d, bool) or not isinstance(d, int) for d in delays):
            raise TypeError(f"delays must be a sequence of integers, not {list(delays)!r}")
        if not delays:
            raise ValueError("delays must name at least one lane, not []")
        if min(delays) < 0:
            raise ValueError(f"delays must be at least 0, not {list(delays)!r}")
        self.delays = delays
        layout = data.ArrayLayout(shape, len(self.delays))
        super().__init__({
            "i": In(layout),
            "o": Out(layout),
        })

    @staticmethod
    def skew_delays(lanes):
        """The delays of :meth:`skew`: lane ``i`` by ``i`` cycles."""
        return tuple(range(lanes))

    @staticmethod
    def deskew_delays(lanes):
        """The delays of :meth:`deskew`: lane ``i`` by ``lanes - 1 - i`` cycles."""
        return tuple(lanes - 1 - i for i in range(lanes))

    @classmethod
    def skew(cls, shape, lanes):
        """Lane ``i`` delayed by ``i`` cycles."""
        return cls(shape, cls.skew_delays(lanes))

    @classmethod
    def deskew(cls, shape, lanes):
        """Lane ``i`` delayed by ``lanes - 1 - i`` cycles."""
        return cls(shape, cls.deskew_delays(lanes))

    def elaborate(self, platform):
        m = Module()
        # Stage s holds, side by side, every lane still waiting after s cycles: one wide
        # register per stage keeps the netlist small (a 64-lane skew is 63 registers).
        lanes = list(range(len(self.delays)))
        width = Shape.cast(self.shape).width
        current = {lane: Value.cast(self.i[lane]) for lane in lanes}
        for lane in lanes:
            if self.delays[lane] == 0:
                m.d.comb += Value.cast(self.o[lane]).eq(current[lane])
        for stage in range(1, max(self.delays, default=0) + 1):
            waiting = [lane for lane in lanes if self.delays[lane] >= stage]
            reg = Signal(width * len(waiting), name=f"stage{stage}", reset_less=True)
            m.d.sync += reg.eq(Cat(current[lane] for lane in waiting))
            for index, lane in enumerate(waiting):
                current[lane] = reg[index * width:(index + 1) * width]
            for lane in waiting:
                if self.delays[lane] == stage:
                    m.d.comb += Value.cast(self.o[lane]).eq(current[lane])
        return m
