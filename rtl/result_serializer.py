"""The result serializer: one result row out as several narrower beats."""

from amaranth import *
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_integer, check_shape


__all__ = ["ResultSerializer"]


class ResultSerializer(wiring.Component):
    """Sends each result row of ``cols`` lanes as ``beats = ceil(cols / lanes)`` beats of
    ``lanes`` lanes, so that the ``results`` stream is ``lanes * width(lane_shape)`` bits wide
    instead of ``cols * width(lane_shape)``.

    Beat ``j`` of a row carries lanes ``j * lanes .. j * lanes + lanes - 1`` of the row, lane
    ``j * lanes + l`` in lane ``l``; lanes past ``cols`` in the last beat are zero.

    Cut through, with a latency of 0: ``o.valid`` is ``i.valid`` and ``o.payload`` is a
    slice of ``i.payload`` chosen by a beat counter (a register; a ``beats``-way multiplexer
    of ``lanes * width(lane_shape)`` bits), so the first beat of a row
    leaves in the cycle the row is offered. The row is taken (``i.ready``) with its last beat:
    ``i.ready`` is ``o.ready`` in the last beat and low before, combinationally (the upstream
    result queue turns it into register updates only). ``o.valid`` does not depend on
    ``o.ready``; ``i.payload`` must stay stable while ``i.valid`` waits (a stream's rule), and
    then so does ``o.payload``. With a sink always ready, a row leaves in ``beats``
    consecutive cycles and rows follow each other without a gap.

    Members
    -------
    i : ``In(stream.Signature(ArrayLayout(lane_shape, cols)))``
        Result rows.
    o : ``Out(stream.Signature(ArrayLayout(lane_shape, lanes)))``
        Their beats, in order.
    last : ``Out(1)``
        The beat on ``o`` is the last of its row (a register; always high with one beat).

    Parameters
    ----------
    lane_shape : shape-castable
        One lane (a signed result).
    cols : int
        Lanes of a row, at least 1.
    lanes : int
        Lanes of a beat, 1 to ``cols``.

    Attributes
    ----------
    beats : int
        Beats per row, ``ceil(cols / lanes)``.
    latency : int
        0: cycles from ``i.valid`` to ``o.valid``.
    """

    latency = 0

    def __init__(self, lane_shape, *, cols, lanes):
        self.lane_shape = check_shape("lane_shape", lane_shape)
        self.cols = check_integer("cols", cols, 1)
        self.lanes = check_integer("lanes", lanes, 1, cols)
        self.beats = -(-cols // lanes)
        super().__init__({
            "i": In(stream.Signature(data.ArrayLayout(lane_shape, cols))),
            "o": Out(stream.Signature(data.ArrayLayout(lane_shape, lanes))),
            "last": Out(1),
        })

    def elaborate(self, platform):
        m = Module()
        lane_bits = Shape.cast(self.lane_shape).width
        beat_bits = self.lanes * lane_bits
        row = Value.cast(self.i.payload)
        padding = self.beats * beat_bits - row.shape().width
        if padding:
            row = Cat(row, C(0, padding))

        if self.beats == 1:
            m.d.comb += [self.o.payload.eq(row), self.last.eq(1)]
        else:
            beat = Signal(range(self.beats))
            m.d.comb += self.last.eq(beat == self.beats - 1)
            # A case per beat (no shifter wider than the row); the last beat is the default,
            # so that every counter value is covered.
            with m.Switch(beat):
                for j in range(self.beats):
                    with m.Case(j) if j < self.beats - 1 else m.Default():
                        m.d.comb += self.o.payload.eq(row[j * beat_bits:(j + 1) * beat_bits])
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += beat.eq(Mux(self.last, 0, beat + 1))
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.i.ready.eq(self.o.ready & self.last),
        ]
        return m
