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

    Cut through, with a latency of 0: ``o.valid`` is ``i.valid``, and beat 0 of a row leaves
    in the cycle the row is offered, straight from ``i.payload`` (one 2:1 choice, so a block
    RAM's output behind ``i`` passes a single LUT level before the sink's register). In every
    cycle of beat 0 the serializer also captures beats ``1 .. beats - 1`` of the offered row
    into a shift register (``(beats - 1) * lanes * width(lane_shape)`` flip-flops), from which
    the later beats leave, one per beat taken; no wide multiplexer sits on the row. The row is
    still taken (``i.ready``) with its last beat: ``i.ready`` is ``o.ready`` in the last beat
    and low before, combinationally (the upstream result queue turns it into register updates
    only). ``o.valid`` does not depend on ``o.ready``; ``i.payload`` must stay stable while
    ``i.valid`` waits (a stream's rule), and then so does ``o.payload``. With a sink always
    ready, a row leaves in ``beats`` consecutive cycles and rows follow each other without a
    gap.

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
            opening = Signal(init=1)        # beat 0 is on offer: the same as beat == 0
            later = Signal((self.beats - 1) * beat_bits, reset_less=True)
            m.d.comb += [
                self.last.eq(beat == self.beats - 1),
                self.o.payload.eq(Mux(opening, row[:beat_bits], later[:beat_bits])),
            ]
            with m.If(opening):
                m.d.sync += later.eq(row[beat_bits:])
            with m.Elif(self.o.valid & self.o.ready):
                m.d.sync += later.eq(later[beat_bits:])
            with m.If(self.o.valid & self.o.ready):
                m.d.sync += [beat.eq(Mux(self.last, 0, beat + 1)), opening.eq(self.last)]
        m.d.comb += [
            self.o.valid.eq(self.i.valid),
            self.i.ready.eq(self.o.ready & self.last),
        ]
        return m
