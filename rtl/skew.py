"""Per-lane delay lines that skew a vector into a systolic array's diagonal wavefront, or
deskew it back."""

from amaranth import *
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["SkewBuffer"]


class SkewBuffer(wiring.Component):
    """Delays lane ``i`` of a vector by ``delays[i]`` cycles.

    Used three times in the accelerator: activations enter array row ``k`` after ``k`` cycles,
    decoded weights reach array column ``n`` after ``n`` cycles, and the column sums leaving the
    bottom of the array are realigned by delaying column ``n`` by ``cols - 1 - n`` cycles.

    The registers advance every cycle (the accelerator never stalls its datapath). A lane with
    delay 0 is a wire. Registers are not reset; ``reset_lanes``
    names lanes (for example a valid bit) that are.

    Parameters
    ----------
    shape : shape-castable
        The shape of one lane.
    delays : sequence of int
        The delay of each lane, in cycles.

    Latency: ``delays[i]`` cycles for lane ``i``.
    """

    def __init__(self, shape, delays, *, reset_lanes=()):
        self.shape = shape
        self.delays = tuple(delays)
        self.reset_lanes = frozenset(reset_lanes)
        layout = data.ArrayLayout(shape, len(self.delays))
        super().__init__({
            "i": In(layout),
            "o": Out(layout),
        })

    @classmethod
    def skew(cls, shape, lanes):
        """Lane ``i`` delayed by ``i`` cycles."""
        return cls(shape, range(lanes))

    @classmethod
    def deskew(cls, shape, lanes):
        """Lane ``i`` delayed by ``lanes - 1 - i`` cycles."""
        return cls(shape, [lanes - 1 - i for i in range(lanes)])

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
            for reset in (False, True):
                group = [lane for lane in waiting if (lane in self.reset_lanes) == reset]
                if not group:
                    continue
                reg = Signal(width * len(group), name=f"stage{stage}{'_ctl' if reset else ''}",
                             reset_less=not reset)
                m.d.sync += reg.eq(Cat(current[lane] for lane in group))
                for index, lane in enumerate(group):
                    current[lane] = reg[index * width:(index + 1) * width]
            for lane in waiting:
                if self.delays[lane] == stage:
                    m.d.comb += Value.cast(self.o[lane]).eq(current[lane])
        return m
