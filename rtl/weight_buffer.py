"""The packed weight SRAM: a ring buffer of weight words between the weight stream and the
array's loader."""

from amaranth import *
from amaranth.lib import memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_integer


__all__ = ["WeightBuffer"]


class WeightBuffer(wiring.Component):
    """A ``depth`` x ``word_bits`` SRAM used as a FIFO of packed weight words.

    One simple-dual-port ``amaranth.lib.memory.Memory`` with a synchronous read port and the
    attribute ``ram_style = "block"``, so yosys maps it to block RAM (DP16KD, RAMB18/36,
    SB_RAM40_4K) whatever its size (``tests/test_synth.py`` checks it). Words are written from
    the stream ``i`` and read back in order by the loader.

    Members
    -------
    i : ``In(stream.Signature(word_bits))``
        Packed weight words. ``ready`` is high while ``allow`` is high and the buffer has room;
        it does not depend on ``i.valid``.
    allow : ``In(1)``
        The current job still expects weight words.
    level : ``Out(range(depth + 1))``
        Words written and not yet read (registered).
    read : ``In(1)``
        Read the oldest word. Only while ``level`` is non-zero (the loader starts a tile only
        when all its words are buffered); not checked here, to keep ``read`` off the path into
        ``level``.
    data : ``Out(word_bits)``
        The word read in the previous cycle (latency 1).

    Parameters (keyword only)
    -------------------------
    word_bits : int
        Bits of one word, at least 1.
    depth : int
        Words, at least 1.

    Attributes
    ----------
    read_latency : int
        1: cycles from ``read`` to the word on ``data``.
    """

    read_latency = 1

    def __init__(self, *, word_bits, depth):
        self.word_bits = check_integer("word_bits", word_bits, 1)
        self.depth = check_integer("depth", depth, 1)
        super().__init__({
            "i": In(stream.Signature(word_bits)),
            "allow": In(1),
            "level": Out(range(depth + 1)),
            "read": In(1),
            "data": Out(word_bits),
        })

    def elaborate(self, platform):
        m = Module()
        # ram_style="block": a small buffer (32 words at 8x8) would otherwise go to LUT RAM;
        # yosys and Vivado both read this attribute.
        m.submodules.storage = storage = memory.Memory(shape=unsigned(self.word_bits),
                                                       depth=self.depth, init=[],
                                                       attrs={"ram_style": "block"})
        write = storage.write_port()
        read = storage.read_port()

        write_ptr = Signal(range(self.depth))
        read_ptr = Signal(range(self.depth))
        do_write = Signal()
        do_read = Signal()
        m.d.comb += [
            self.i.ready.eq(self.allow & (self.level < self.depth)),
            do_write.eq(self.i.valid & self.i.ready),
            do_read.eq(self.read),
            write.addr.eq(write_ptr),
            write.data.eq(self.i.payload),
            write.en.eq(do_write),
            read.addr.eq(read_ptr),
            self.data.eq(read.data),
        ]

        def advance(ptr):
            return Mux(ptr == self.depth - 1, 0, ptr + 1)

        with m.If(do_write):
            m.d.sync += write_ptr.eq(advance(write_ptr))
        with m.If(do_read):
            m.d.sync += read_ptr.eq(advance(read_ptr))
        m.d.sync += self.level.eq(self.level + do_write - do_read)
        return m
