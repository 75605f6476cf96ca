"""cocotb bench of the AXI4 burst reader against cocotbext-axi's ``AxiRamRead``, behind a read
latency of :data:`LATENCY` cycles (``cosim.axi_bench.ReadLatency``).

Every transfer's beats must equal the memory's bytes in order; every burst must stay inside a
4 KiB page (the model asserts it) and within ``max_burst``; with the memory and the sink
stalling at random (cocotbext-axi's pause generators on AR and R, a random ``ready`` on the
stream) nothing may be lost; an error response must end the transfer with its code and leave
the reader idle and correct for the next one; so must an abort in the middle of bursts; and
with a sink that is always ready the stream must run at one beat per cycle after the latency.
"""

import itertools

import pytest

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from rtl.axi.burst_plan import burst_lengths

from .axi_bench import BenchMemory, record_bursts
from .bench import bench_config, bench_rng, run_bench, start_clock


LATENCY = 100
MEMORY_BYTES = 1 << 18
#: Cycles beyond ``count + LATENCY`` that a transfer may take with nothing stalling: the
#: reader's request pipeline (3), the latency queue and cocotbext-axi's model (2 + 2), the FIFO
#: (2) and the first burst's request.
FIXED_CYCLES = 12
CONFIGS = {"d64": 64, "d1024": 1024}


async def _setup(dut, memory):
    """Reset, and cocotbext-axi's read model over ``memory``; returns the model and the
    requests it took, ``[(address, beats)]`` (recorded from the bus)."""
    from cocotbext.axi import AxiReadBus, AxiSlaveRead
    start_clock(dut)
    dut.rst.value = 1
    for name in ("start", "base", "count", "passes", "abort", "data__ready"):
        getattr(dut, name).value = 0
    model = AxiSlaveRead(AxiReadBus.from_prefix(dut, "m_axi_"), dut.clk, dut.rst,
                         target=memory)
    bursts = []
    cocotb.start_soon(record_bursts(dut, "m_axi__ar", bursts))
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return model, bursts


def _content(rng):
    return bytes(rng.integers(0, 256, size=MEMORY_BYTES, dtype="uint8"))


async def _transfer(dut, base, count, ready=None, abort_after=None, passes=1):
    """Run one transfer; returns (beats received in order, cycles from start to idle)."""
    beat_bytes = len(dut.data__payload) // 8
    dut.base.value = base
    dut.count.value = count
    dut.passes.value = passes
    dut.start.value = 1
    await RisingEdge(dut.clk)
    dut.start.value = 0
    beats, cycles = [], 0
    ready = ready or itertools.repeat(1)
    while True:
        dut.data__ready.value = next(ready)
        if abort_after is not None and len(beats) >= abort_after:
            dut.abort.value = 1
            abort_after = None
        await ReadOnly()
        take = dut.data__valid.value == 1 and dut.data__ready.value == 1
        payload = dut.data__payload.value.to_unsigned() if take else None
        busy = dut.busy.value == 1
        await RisingEdge(dut.clk)
        dut.abort.value = 0
        cycles += 1
        if take:
            beats.append(payload.to_bytes(beat_bytes, "little"))
        if not busy and dut.data__valid.value == 0 and cycles > 2:
            return beats, cycles
        assert cycles < 20 * count * passes + 2000, "the transfer did not end"


@cocotb.test()
async def random_transfers_with_stalls(dut):
    data_bits, max_burst = bench_config()
    np_rng, rng = bench_rng(dut, f"burst reader {data_bits}")
    content = _content(np_rng)
    model, bursts = await _setup(dut, BenchMemory(content))
    beat_bytes = data_bits // 8

    def pause(probability):
        while True:
            yield rng.random() < probability

    model.ar_channel.set_pause_generator(pause(0.3))
    model.r_channel.set_pause_generator(pause(0.3))
    for _ in range(12):
        count = rng.choice([1, 2, max_burst - 1, max_burst, max_burst + 1,
                            rng.randrange(1, 4 * max_burst)])
        base = rng.randrange(0, MEMORY_BYTES // beat_bytes - count) * beat_bytes
        passes = rng.choice([1, 1, 2, 3])
        ready = (rng.random() < 0.7 for _ in itertools.count())
        bursts.clear()
        beats, _ = await _transfer(dut, base, count, ready, passes=passes)
        assert b"".join(beats) == content[base:base + count * beat_bytes] * passes, \
            f"transfer of {count} beats at {base:#x}, {passes} passes"
        assert dut.resp.value == 0
        assert sum(length for _, length in bursts) == count * passes
        for address, length in bursts:
            assert 1 <= length <= max_burst
            assert address // 4096 == (address + length * beat_bytes - 1) // 4096
        # and as long as those rules allow
        assert bursts == burst_lengths(base, count, beat_bytes=beat_bytes, max_burst=max_burst,
                                       passes=passes)


@cocotb.test()
async def one_beat_per_cycle_after_the_latency(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst reader rate {data_bits}")
    content = _content(np_rng)
    await _setup(dut, BenchMemory(content))
    beat_bytes = data_bits // 8
    count = min(2048 + 3, MEMORY_BYTES // beat_bytes - 64)
    base = 48 * beat_bytes  # not on a page boundary: the first burst is short
    beats, cycles = await _transfer(dut, base, count)
    assert b"".join(beats) == content[base:base + count * beat_bytes]
    dut._log.info("%d beats in %d cycles (latency %d)", count, cycles, LATENCY)
    assert cycles <= count + LATENCY + FIXED_CYCLES


@cocotb.test()
async def error_response_ends_the_transfer(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst reader error {data_bits}")
    content = _content(np_rng)
    beat_bytes = data_bits // 8
    # A hole 2 * max_burst beats into the transfer: the model answers SLVERR there.
    base = 3 * beat_bytes
    hole = base + 2 * max_burst * beat_bytes
    await _setup(dut, BenchMemory(content, range(hole, hole + 4 * beat_bytes)))
    beats, _ = await _transfer(dut, base, 5 * max_burst)
    assert dut.resp.value == 2
    good = b"".join(beats)
    assert len(good) <= 2 * max_burst * beat_bytes
    assert good == content[base:base + len(good)]
    # The next transfer starts clean.
    beats, _ = await _transfer(dut, 0, max_burst + 5)
    assert dut.resp.value == 0
    assert b"".join(beats) == content[:(max_burst + 5) * beat_bytes]


@cocotb.test()
async def abort_in_the_middle_of_bursts(dut):
    data_bits, max_burst = bench_config()
    np_rng, _ = bench_rng(dut, f"burst reader abort {data_bits}")
    content = _content(np_rng)
    await _setup(dut, BenchMemory(content))
    beat_bytes = data_bits // 8
    beats, _ = await _transfer(dut, 0, 6 * max_burst, abort_after=max_burst // 2 + 1)
    assert len(beats) < 6 * max_burst
    assert b"".join(beats) == content[:len(beats) * beat_bytes][:len(b"".join(beats))]
    base = 7 * beat_bytes
    beats, _ = await _transfer(dut, base, 2 * max_burst + 1)
    assert b"".join(beats) == content[base:base + (2 * max_burst + 1) * beat_bytes]


def bench_design(data_bits):
    """The reader behind :data:`LATENCY` cycles of read latency, ports ``m_axi__*`` to the
    memory model."""
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out
    from amaranth.lib import stream
    from amaranth import Module
    from rtl.axi.bus import read_manager_signature
    from rtl.axi.burst_reader import BurstReader
    from .axi_bench import ReadLatency

    max_burst = min(256, 4096 // (data_bits // 8))
    depth = BurstReader.depth_for_latency(LATENCY, max_burst)

    class ReaderBench(wiring.Component):
        def __init__(self):
            super().__init__({
                "m_axi": Out(read_manager_signature(addr_bits=32, data_bits=data_bits)),
                "start": In(1), "base": In(32), "count": In(16), "passes": In(4),
                "abort": In(1), "busy": Out(1), "resp": Out(2),
                "data": Out(stream.Signature(data_bits)),
            })

        def elaborate(self, platform):
            m = Module()
            m.submodules.reader = reader = BurstReader(addr_bits=32, data_bits=data_bits,
                                                       count_bits=16, depth=depth, pass_bits=4)
            m.submodules.latency = latency = ReadLatency(addr_bits=32, data_bits=data_bits,
                                                         latency=LATENCY)
            wiring.connect(m, reader.axi, latency.manager)
            wiring.connect(m, latency.memory, wiring.flipped(self.m_axi))
            wiring.connect(m, reader.data, wiring.flipped(self.data))
            m.d.comb += [reader.start.eq(self.start), reader.base.eq(self.base),
                         reader.count.eq(self.count), reader.passes.eq(self.passes),
                         reader.abort.eq(self.abort),
                         self.busy.eq(reader.busy), self.resp.eq(reader.resp)]
            return m

    return ReaderBench(), max_burst


@pytest.mark.parametrize("label", list(CONFIGS))
def test_burst_reader(label):
    from gen.emit import emit_module
    data_bits = CONFIGS[label]
    design, max_burst = bench_design(data_bits)
    verilog = emit_module(design, "burst_reader_bench")
    run_bench(kind="burst_reader", key=label, verilog=verilog, toplevel="burst_reader_bench",
              module="cosim.test_burst_reader", config=[data_bits, max_burst], name=label)
