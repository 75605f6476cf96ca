"""The result queue: decouples the result stream's backpressure from the datapath."""

from amaranth import *
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from .checks import check_integer, check_shape


__all__ = ["ResultQueue"]


class ResultQueue(wiring.Component):
    """A ``depth``-entry FIFO of result vectors with credit-based admission, so that
    ``results.ready`` never reaches the datapath.

    The datapath does not stall; instead the accelerator claims a slot (``reserve``) for every
    activation row of a last K tile when that row enters the array, and only while
    ``has_room`` is high. The row's result arrives on ``i_valid``/``i_payload`` some cycles
    later and always finds room; the slot is freed when the result leaves on ``o``. With
    ``depth`` two more than the number of cycles from a claim to the freeing of its slot
    (:attr:`~rtl.config.AccelConfig.result_queue_depth`), a sink that is always ready never
    sees ``has_room`` low.

    Storage is a ``depth`` x ``width`` ``amaranth.lib.memory.Memory`` with ``ram_style =
    "block"`` (block RAM on FPGAs); the head entry sits on the memory's read port, which is
    enabled only to fetch the next entry, so ``o.payload`` and ``o.valid`` come from registers.
    The port never reads a slot in the cycle it is written (an entry is fetched a cycle after
    its write at the earliest, and the credits keep the writer off the slots not yet read), so
    the memory carries the ``no_rw_check`` attribute: synthesis then adds no read-during-write
    logic (a bypass multiplexer behind the block RAM's output and two flip-flops per bit).

    Members
    -------
    reserve : ``In(1)``
        Claim a slot this cycle. Only while ``has_room`` is high.
    has_room : ``Out(1)``
        A register: at most ``depth - 2`` slots were claimed in the previous cycle, so a slot
        is free whatever that cycle claimed. (One slot of slack buys a flip-flop output for
        the activations' ``ready``.)
    i_valid : ``In(1)``, i_payload : ``In(shape)``
        A result for a claimed slot; taken unconditionally.
    o : ``Out(stream.Signature(shape))``
        The results in order. ``o.valid`` does not depend on ``o.ready``.

    Parameters
    ----------
    shape : shape-castable
        One result.
    depth : int
        Slots, at least 2.

    Attributes
    ----------
    latency : int
        2: cycles from ``i_valid`` to ``o.valid`` when the queue is empty.
    """

    latency = 2

    def __init__(self, shape, *, depth):
        self.shape = check_shape("shape", shape)
        self.depth = check_integer("depth", depth, 2)
        super().__init__({
            "reserve": In(1),
            "has_room": Out(1, init=1),
            "i_valid": In(1),
            "i_payload": In(shape),
            "o": Out(stream.Signature(shape)),
        })

    def elaborate(self, platform):
        m = Module()
        width = Shape.cast(self.shape).width
        # The head is read only from a slot written in an earlier cycle, and a slot is
        # written only while free: no read meets a write to its slot ("no_rw_check", see
        # the class docstring).
        m.submodules.storage = storage = memory.Memory(
            shape=unsigned(width), depth=self.depth, init=[],
            attrs={"ram_style": "block", "no_rw_check": 1})
        write = storage.write_port()
        read = storage.read_port()

        def advance(ptr):
            return Mux(ptr == self.depth - 1, 0, ptr + 1)

        # Slots claimed and not yet freed.
        claimed = Signal(range(self.depth + 1))
        popped = Signal()
        m.d.comb += popped.eq(self.o.valid & self.o.ready)
        m.d.sync += [
            claimed.eq(claimed + self.reserve - popped),
            self.has_room.eq(claimed <= self.depth - 2),
        ]

        # Entries in the memory behind the head (the head is on the read port's output).
        write_ptr = Signal(range(self.depth))
        read_ptr = Signal(range(self.depth))
        stored = Signal(range(self.depth + 1))
        fetch = Signal()
        m.d.comb += [
            write.addr.eq(write_ptr),
            write.data.eq(Value.cast(self.i_payload)),
            write.en.eq(self.i_valid),
            fetch.eq((stored != 0) & (~self.o.valid | self.o.ready)),
            read.addr.eq(read_ptr),
            read.en.eq(fetch),
            self.o.payload.eq(read.data),
        ]
        with m.If(self.i_valid):
            m.d.sync += write_ptr.eq(advance(write_ptr))
        with m.If(fetch):
            m.d.sync += read_ptr.eq(advance(read_ptr))
        m.d.sync += [
            stored.eq(stored + self.i_valid - fetch),
            self.o.valid.eq(fetch | (self.o.valid & ~self.o.ready)),
        ]
        return m
