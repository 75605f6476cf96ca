"""cocotb bench of the AXI4 burst writer against cocotbext-axi's write model
(``AxiSlaveWrite``, which also checks that no burst crosses 4 KiB and that ``wlast`` marks each
burst's last beat).

Every transfer's beats must land in memory in order and nothing outside the transfer may
change; the bursts must be the plan of ``rtl.axi.burst_plan.burst_lengths``; with the memory
stalling at random on AW, W and B (pause generators) and a source that is valid at random,
nothing may be lost; an error response must end the transfer with its code and leave the writer
idle and correct for the next one; so must an abort; and with nothing stalling the writer must
take one beat per cycle.
"""

import itertools

import pytest

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from rtl.axi.burst_plan import burst_lengths

from .axi_bench import BenchMemory, record_bursts
from .bench import bench_config, bench_rng, run_bench, start_clock


MEMORY_BYTES = 1 << 18
#: Cycles beyond ``count`` and one full burst that a transfer may take with nothing stalling:
#: the FIFO (2), the plan and the address (3), the model's first W beat and the response (4).
FIXED_CYCLES = 12
CONFIGS = {"d64": 64, "d1024": 1024}


async def _setup(dut, memory):
    from cocotbext.axi import AxiSlaveWrite, AxiWriteBus
    start_clock(dut)
    dut.rst.value = 1
    for name in ("start", "base", "count", "abort", "data__valid", "data__payload"):
        getattr(dut, name).value = 0
    model = AxiSlaveWrite(AxiWriteBus.from_prefix(dut, "m_axi_"), dut.clk, dut.rst,
                          target=memory)
    bursts = []
    cocotb.start_soon(record_bursts(dut, "m_axi__aw", bursts))
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return model, bursts


async def _transfer(dut, base, beats, valid=None, abort_after=None):
    """Offer ``beats`` (bytes objects) for a transfer to ``base``; returns (beats taken,
    cycles from start to idle)."""
    dut.base.value = base
    dut.count.value = len(beats)
    dut.start.value = 1
    await RisingEdge(dut.clk)
    dut.start.value = 0
    valid = valid or itertools.repeat(1)
    taken, cycles = 0, 0
    while True:
        offer = taken < len(beats) and next(valid)
        dut.data__valid.value = int(bool(offer))
        if offer:
            dut.data__payload.value = int.from_bytes(beats[taken], "little")
        if abort_after is not None and taken >= abort_after:
            dut.abort.value = 1
            abort_after = None
        await ReadOnly()
        took = dut.data__valid.value == 1 and dut.data__ready.value == 1
        busy = dut.busy.value == 1
        await RisingEdge(dut.clk)
        dut.abort.value = 0
        cycles += 1
        taken += took
        if not busy and cycles > 2:
            dut.data__valid.value = 0
            return taken, cycles
        assert cycles < 20 * len(beats) + 2000, "the transfer did not end"


def _beats(rng, count, beat_bytes):
    return [bytes(rng.integers(0, 256, size=beat_bytes, dtype="uint8")) for _ in range(count)]


@cocotb.test()
async def random_transfers_with_stalls(dut):
    data_bits, max_burst = bench_config()
    np_rng, rng = bench_rng(dut, f"burst writer {data_bits}")
    memory = BenchMemory(bytes(MEMORY_BYTES))
    model, bursts = await _setup(dut, memory)
    beat_bytes = data_bits // 8

    def pause(probability):
        while True:
            yield rng.random() < probability

    for channel in (model.aw_channel, model.w_channel, model.b_channel):
        channel.set_pause_generator(pause(0.3))
    for _ in range(12):
        count = rng.choice([1, 2, max_burst - 1, max_burst, max_burst + 1,
                            rng.randrange(1, 4 * max_burst)])
        base = rng.randrange(0, MEMORY_BYTES // beat_bytes - count) * beat_bytes
        beats = _beats(np_rng, count, beat_bytes)
        before = bytes(memory.content)
        bursts.clear()
        valid = (rng.random() < 0.7 for _ in itertools.count())
        taken, _ = await _transfer(dut, base, beats, valid)
        assert taken == count
        expected = before[:base] + b"".join(beats) + before[base + count * beat_bytes:]
        assert bytes(memory.content) == expected, f"transfer of {count} beats at {base:#x}"
        assert dut.resp.value == 0
        address = base
        for start, length in bursts:   # in order, back to back, inside a page, not too long
            assert start == address and 1 <= length <= max_burst
            assert start // 4096 == (start + length * beat_bytes - 1) // 4096
            address += length * beat_bytes
        assert address == base + count * beat_bytes


@cocotb.test()
async def one_beat_per_cycle(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst writer rate {data_bits}")
    memory = BenchMemory(bytes(MEMORY_BYTES))
    _, bursts = await _setup(dut, memory)
    beat_bytes = data_bits // 8
    count = min(2048 + 3, MEMORY_BYTES // beat_bytes - 64)
    base = 48 * beat_bytes
    beats = _beats(np_rng, count, beat_bytes)
    taken, cycles = await _transfer(dut, base, beats)
    assert memory.content[base:base + count * beat_bytes] == b"".join(beats)
    dut._log.info("%d beats in %d cycles", count, cycles)
    # A streaming source gets the plan's full bursts; the writes trail the beats taken by
    # one full burst (its address waits for its last beat).
    assert bursts == burst_lengths(base, count, beat_bytes=beat_bytes, max_burst=max_burst)
    assert cycles <= count + max_burst + FIXED_CYCLES


@cocotb.test()
async def a_trickle_is_written_at_once(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst writer trickle {data_bits}")
    memory = BenchMemory(bytes(MEMORY_BYTES))
    _, bursts = await _setup(dut, memory)
    beat_bytes = data_bits // 8
    # Four beats, then a long pause, then four more: two bursts of four, the first written
    # during the pause.
    beats = _beats(np_rng, 8, beat_bytes)
    valid = iter([1] * 4 + [0] * 40 + [1] * 4)
    taken, cycles = await _transfer(dut, 0, beats, valid)
    assert taken == 8 and memory.content[:8 * beat_bytes] == b"".join(beats)
    assert bursts == [(0, 4), (4 * beat_bytes, 4)]
    assert cycles <= 48 + FIXED_CYCLES


@cocotb.test()
async def error_response_ends_the_transfer(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst writer error {data_bits}")
    beat_bytes = data_bits // 8
    base = 3 * beat_bytes
    hole = base + 2 * max_burst * beat_bytes
    memory = BenchMemory(bytes(MEMORY_BYTES), range(hole, hole + 4 * beat_bytes))
    await _setup(dut, memory)
    beats = _beats(np_rng, 5 * max_burst, beat_bytes)
    await _transfer(dut, base, beats)
    assert dut.resp.value == 2
    assert memory.content[base:hole] == b"".join(beats)[:hole - base]
    # The next transfer starts clean (its FIFO emptied of the beats left behind).
    beats = _beats(np_rng, max_burst + 5, beat_bytes)
    taken, _ = await _transfer(dut, 0, beats)
    assert dut.resp.value == 0 and taken == len(beats)
    assert memory.content[:len(beats) * beat_bytes] == b"".join(beats)


@cocotb.test()
async def abort_in_the_middle_of_bursts(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst writer abort {data_bits}")
    memory = BenchMemory(bytes(MEMORY_BYTES))
    await _setup(dut, memory)
    beat_bytes = data_bits // 8
    beats = _beats(np_rng, 6 * max_burst, beat_bytes)
    taken, _ = await _transfer(dut, 0, beats, abort_after=max_burst + max_burst // 2)
    assert taken < len(beats)
    base = 7 * beat_bytes + 8 * max_burst * beat_bytes
    beats = _beats(np_rng, 2 * max_burst + 1, beat_bytes)
    taken, _ = await _transfer(dut, base, beats)
    assert taken == len(beats)
    assert memory.content[base:base + len(beats) * beat_bytes] == b"".join(beats)


def bench_design(data_bits):
    """The writer with its ports ``m_axi__*`` to the memory model."""
    from amaranth import Module
    from amaranth.lib import stream, wiring
    from amaranth.lib.wiring import In, Out
    from rtl.axi.burst_writer import BurstWriter
    from rtl.axi.bus import write_manager_signature

    max_burst = min(256, 4096 // (data_bits // 8))

    class WriterBench(wiring.Component):
        def __init__(self):
            super().__init__({
                "m_axi": Out(write_manager_signature(addr_bits=32, data_bits=data_bits)),
                "start": In(1), "base": In(32), "count": In(16), "abort": In(1),
                "busy": Out(1), "resp": Out(2), "data": In(stream.Signature(data_bits)),
            })

        def elaborate(self, platform):
            m = Module()
            m.submodules.writer = writer = BurstWriter(addr_bits=32, data_bits=data_bits,
                                                       count_bits=16, depth=2 * max_burst)
            wiring.connect(m, writer.axi, wiring.flipped(self.m_axi))
            wiring.connect(m, wiring.flipped(self.data), writer.data)
            m.d.comb += [writer.start.eq(self.start), writer.base.eq(self.base),
                         writer.count.eq(self.count), writer.abort.eq(self.abort),
                         self.busy.eq(writer.busy), self.resp.eq(writer.resp)]
            return m

    return WriterBench(), max_burst


@pytest.mark.parametrize("label", list(CONFIGS))
def test_burst_writer(label):
    from gen.emit import emit_module
    data_bits = CONFIGS[label]
    design, max_burst = bench_design(data_bits)
    verilog = emit_module(design, "burst_writer_bench")
    run_bench(kind="burst_writer", key=label, verilog=verilog, toplevel="burst_writer_bench",
              module="cosim.test_burst_writer", config=[data_bits, max_burst], name=label)
