"""The on-chip output accumulator: sums the column results of successive K tiles."""

from amaranth import *
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out


__all__ = ["Accumulator"]


class Accumulator(wiring.Component):
    """Accumulates one vector of ``cols`` column sums per activation row over the K tiles of a
    job, and emits the finished vector on the last K tile.

    Storage is one ``max_m`` x ``(cols * acc_bits)`` ``amaranth.lib.memory.Memory``, one word per
    activation row ``m``, with a synchronous read port that is transparent for the write port
    (a row accumulated in consecutive cycles, as happens when M = 1 and rows = 1, reads the value
    just written).

    Each enabled cycle carries one token. The token's row ``m`` is announced one cycle early on
    ``lookahead_m`` so that the stored sum is read in time; the token itself (``valid``, ``m``,
    ``first``, ``last``) arrives with the deskewed column sums ``psum``. On ``first`` the stored
    sum is ignored; on ``last`` the sum goes to ``o`` instead of back to memory.

    Members
    -------
    en : ``In(1)``
        The accelerator's stall, driven from ``~o.valid | o.ready``: while low nothing moves.
    o : ``Out(stream.Signature(ArrayLayout(signed(acc_bits), cols)))``
        Finished result vectors, registered; ``o.valid`` does not depend on ``o.ready``.

    Latency: 1 cycle from a ``last`` token to its result on ``o``.
    """

    def __init__(self, *, cols, acc_bits, column_bits, depth):
        self.cols = cols
        self.acc_bits = acc_bits
        self.depth = depth
        super().__init__({
            "en": In(1),
            "lookahead_m": In(range(depth)),
            "valid": In(1),
            "m": In(range(depth)),
            "first": In(1),
            "last": In(1),
            "psum": In(data.ArrayLayout(signed(column_bits), cols)),
            "o": Out(stream.Signature(data.ArrayLayout(signed(acc_bits), cols))),
        })

    def elaborate(self, platform):
        m = Module()
        layout = data.ArrayLayout(signed(self.acc_bits), self.cols)
        m.submodules.storage = storage = memory.Memory(shape=unsigned(layout.size),
                                                       depth=self.depth, init=[])
        write = storage.write_port()
        read = storage.read_port(transparent_for=(write,))

        stored = data.View(layout, read.data)
        total = Signal(layout)
        for n in range(self.cols):
            m.d.comb += total[n].eq(Mux(self.first, self.psum[n], stored[n] + self.psum[n]))

        m.d.comb += [
            read.addr.eq(self.lookahead_m),
            read.en.eq(self.en),
            write.addr.eq(self.m),
            write.data.eq(total.as_value()),
            write.en.eq(self.en & self.valid & ~self.last),
        ]

        payload = Signal(layout, reset_less=True)
        m.d.comb += self.o.payload.eq(payload)
        with m.If(self.en):
            m.d.sync += [
                self.o.valid.eq(self.valid & self.last),
                payload.eq(total),
            ]
        return m
