"""Formal proof of the hand-written result FIFO, :class:`rtl.result_queue.ResultQueue`, against
a small model, as Amaranth's own ``tests/test_lib_fifo.py`` checks its FIFOs. Unbounded
(k-induction), with reset at any cycle. (The weight side's store, which is no FIFO, has its
own model in ``tests/test_formal_weight_store.py``.)

The model is a counter of the entries in the FIFO plus one *tracked* entry: at a moment the
solver chooses, a result being written is tracked with its value and the number of entries
ahead of it; every read removes one entry ahead, and the read that finds none ahead must
return the tracked value. Since the solver may track any entry of any run, this proves every
entry comes out exactly once, in order, with its value (nothing lost, duplicated or
reordered), together with the credits and the readiness the docstring states; and yosys
confirms that no input reaches an output combinationally.

The inputs are free except for the block's documented preconditions (``Assume``):
``reserve`` only while ``has_room`` is high, and ``i_valid`` only for a claimed slot whose
result has not come yet. The inductive invariants tie the model to the block's pointers and
memory words (an extra asynchronous read port on the block's memory,
:func:`formal_sby.elaborate_with_internals`).
"""

import pytest
from amaranth import *
from amaranth.asserts import AnySeq
from amaranth.hdl import Assert, Assume, Cover

from formal_sby import combinational_paths, elaborate_with_internals, prove
from rtl.result_queue import ResultQueue

WORD_BITS = 4


def _ring(base, offset, depth):
    """``(base + offset) mod depth`` for pointers below ``depth``."""
    return (base + offset) % depth


class ResultQueueProperties(Elaboratable):
    def __init__(self, depth):
        self.depth = depth

    def elaborate(self, platform):
        m = Module()
        depth = self.depth
        dut = ResultQueue(WORD_BITS, depth=depth)
        m.submodules.dut, internal, peek = elaborate_with_internals(dut, platform,
                                                                    peek=["storage"])
        m.d.comb += [
            dut.reserve.eq(AnySeq(1)),
            dut.i_valid.eq(AnySeq(1)),
            dut.i_payload.eq(AnySeq(WORD_BITS)),
            dut.o.ready.eq(AnySeq(1)),
        ]
        pop = Signal()
        m.d.comb += pop.eq(dut.o.valid & dut.o.ready)

        # Model: slots claimed and not freed, results in the queue.
        claimed = Signal(range(depth + 1))
        queued = Signal(range(depth + 1))
        m.d.sync += [
            claimed.eq(claimed + dut.reserve - pop),
            queued.eq(queued + dut.i_valid - pop),
        ]
        m.d.comb += [
            Assume(~dut.reserve | dut.has_room),
            Assume(~dut.i_valid | (queued < claimed)),
        ]

        # Credits bounded, has_room as documented (a register of the previous claim count).
        room = Signal(init=1)
        m.d.sync += room.eq(claimed <= depth - 2)
        m.d.comb += [
            Assert(claimed <= depth),
            Assert(queued <= claimed),
            Assert(dut.has_room == room),
        ]

        # The output stream: nothing invented, nothing held back more than the documented
        # latency (a result that arrived two cycles ago or earlier is on offer), and the
        # stream rules: valid held and payload stable until ready.
        arrived = Signal()
        m.d.sync += arrived.eq(dut.i_valid)
        m.d.comb += [
            Assert(~dut.o.valid | (queued != 0)),
            Assert(dut.o.valid | (queued <= arrived)),
        ]
        held = Signal()
        held_payload = Signal(WORD_BITS)
        m.d.sync += [held.eq(dut.o.valid & ~dut.o.ready), held_payload.eq(dut.o.payload)]
        with m.If(held):
            m.d.comb += [Assert(dut.o.valid), Assert(dut.o.payload == held_payload)]

        # The tracked result.
        tracking = Signal()
        value = Signal(WORD_BITS)
        ahead = Signal(range(depth))
        with m.If(~tracking & dut.i_valid & AnySeq(1)):
            m.d.sync += [tracking.eq(1), value.eq(dut.i_payload), ahead.eq(queued - pop)]
        with m.If(tracking):
            with m.If(ahead == 0):
                with m.If(dut.o.valid):
                    m.d.comb += Assert(dut.o.payload == value)
                with m.If(pop):
                    m.d.sync += tracking.eq(0)
            with m.Elif(pop):
                m.d.sync += ahead.eq(ahead - 1)

        # Inductive invariants: the internal counters agree with the model; the tracked result
        # is on the output register (nothing ahead, valid) or in memory behind the others.
        stored = internal["stored"]
        write_ptr, read_ptr = internal["write_ptr"], internal["read_ptr"]
        m.d.comb += [
            Assert(read_ptr < depth),
            Assert(internal["claimed"] == claimed),
            Assert(queued == stored + dut.o.valid),
            Assert(write_ptr == _ring(read_ptr, stored, depth)),
        ]
        in_memory = Signal(range(depth))
        m.d.comb += in_memory.eq(ahead - dut.o.valid)
        with m.If(tracking):
            m.d.comb += Assert(ahead < queued)
            with m.If((ahead != 0) | ~dut.o.valid):
                m.d.comb += [
                    peek["storage"].addr.eq(_ring(read_ptr, in_memory, depth)),
                    Assert(peek["storage"].data == value),
                ]
        m.d.comb += Cover(tracking & (ahead == 0) & pop & (claimed == depth) & (value != 0))
        return m


@pytest.mark.parametrize("depth", [2, 3, 4])
def test_result_queue_against_model(depth):
    prove(ResultQueueProperties(depth), f"result_queue_{depth}", mode="prove",
          depth=depth + 3)


@pytest.mark.parametrize("depth", [3])
def test_result_queue_model_reaches_full_and_delivers(depth):
    """The proof is not vacuous: a tracked result leaves a queue with every slot claimed."""
    prove(ResultQueueProperties(depth), f"result_queue_cover_{depth}", mode="cover",
          depth=2 * depth + 6)


def test_result_queue_outputs_are_registers():
    """The result queue's outputs are all registers, so ``o.valid`` does not depend on
    ``o.ready``."""
    assert combinational_paths(ResultQueue(WORD_BITS, depth=3), "comb_result_queue") == []
