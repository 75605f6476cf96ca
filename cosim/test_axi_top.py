"""cocotb bench of the memory-mapped top (``rtl.axi.top.AxiAccelerator``) with cocotbext-axi:
``AxiLiteMaster`` on the registers, the read and write models on the managers over one memory
(``cosim.axi_bench.BenchMemory``), every read channel behind :data:`LATENCY` cycles of latency.

Each job's images come from golden (``golden.weight_image``, ``port_images``,
``activation_image``) and its results, read back from memory through ``golden.image_results``,
must equal ``golden.int_gemm`` (``golden.int8_gemm`` for the int8 baseline, whose 2048-bit
weight beat takes two weight ports) bit for bit: ragged shapes, M = 1 and batches, with random stalls
on every channel of every port; without stalls the ``CYCLES`` register must equal the exact
cycle model (``rtl.axi.cycles.axi_job_cycles``, a memory of :data:`LATENCY` cycles); an error
response must end the job with its cause and leave the core ready; so must a reset in the
middle of a job's bursts. Jobs queued behind each other (each started while the one before it
runs, every job's images in their own place) must be bit-exact too, and without stalls their
``CYCLES`` must equal ``rtl.axi.cycles.axi_queue_cycles``.
"""

import math

import numpy as np
import pytest

import cocotb
from cocotb.triggers import ClockCycles, RisingEdge

import golden
from rtl.axi.cycles import axi_job_cycles, axi_queue_cycles

from .axi_bench import BENCH_LATENCY, BenchMemory, record_starts
from .bench import bench_config, bench_rng, run_bench, start_clock


LATENCY = BENCH_LATENCY
MEMORY_BYTES = 1 << 20
CONFIGS = {
    "i2-4x4-w32": dict(rows=4, cols=4, interface="axi", max_m=16, max_k=64, max_n=64),
    "t5-4x4-w32": dict(rows=4, cols=4, weight_format="t5", interface="axi", max_m=16,
                       max_k=64, max_n=64),
    "i2-8x8-w128": dict(rows=8, cols=8, interface="axi", max_m=32, max_k=128, max_n=128),
    # a 2048-bit weight beat: two weight ports, each with its own image
    "int8-16x16-w2048": dict(rows=16, cols=16, pe="int8", weight_port_bits=2048,
                             interface="axi", max_m=16, max_k=128, max_n=128),
}
#: Where each image lives: 4 KiB aligned, apart (queued jobs: ``SLOT`` bytes further per job,
#: weight ports ``PORT`` bytes apart).
WEIGHTS, ACTIVATIONS, RESULTS = 0x10000, 0x60000, 0x90000
SLOT, PORT = 0x4000, 0x28000
#: Jobs with images of their own (``SLOT`` apart; results ``2 * SLOT`` apart).
SLOTS = 10


def _config(values):
    from rtl.config import AccelConfig
    return AccelConfig(**values)


class _Bench:
    def __init__(self, dut, config, memory):
        from cocotbext.axi import (AxiBus, AxiLiteBus, AxiLiteMaster, AxiReadBus, AxiSlave,
                                   AxiSlaveRead)
        from rtl import interface
        from rtl.axi.register_map import register_map
        self.dut, self.config, self.memory = dut, config, memory
        self.ports = interface.weight_ports(config)
        self.data_bytes = interface.data_port_bits(config) // 8
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
        self.models = [AxiSlaveRead(AxiReadBus.from_prefix(dut, f"m_axi_w{port}_"), dut.clk,
                                    dut.rst, target=memory)
                       for port in range(self.ports)]
        data = AxiSlave(AxiBus.from_prefix(dut, "m_axi_d_"), dut.clk, dut.rst, target=memory)
        self.data_model = data
        self.offsets = {reg.name: reg.offset for reg in register_map(
            config, data_port_bits=8 * self.data_bytes, weight_ports=self.ports)}

    def channels(self):
        for model in self.models:
            yield from (model.ar_channel, model.r_channel)
        yield from (self.data_model.read_if.ar_channel, self.data_model.read_if.r_channel,
                    self.data_model.write_if.aw_channel, self.data_model.write_if.w_channel,
                    self.data_model.write_if.b_channel)

    async def write(self, name, value):
        response = await self.master.write(self.offsets[name], value.to_bytes(4, "little"))
        assert response.resp == 0, name

    async def read(self, name):
        response = await self.master.read(self.offsets[name], 4)
        assert response.resp == 0, name
        return int.from_bytes(response.data, "little")

    def place(self, x, w, slot=0):
        """Write the job's images (queue slot ``slot``); returns the bytes of the result image
        to expect."""
        cfg = self.config
        image = golden.weight_image(w, cfg.format, rows=cfg.rows, cols=cfg.cols,
                                    rows_per_beat=cfg.rows_per_beat)
        for port, part in enumerate(golden.port_images(image, self.ports)):
            assert slot < SLOTS
            start = WEIGHTS + port * PORT + slot * SLOT
            assert part.size <= SLOT
            self.memory.content[start:start + part.size] = part.tobytes()
        acts = golden.activation_image(x, rows=cfg.rows, beat=self.data_bytes,
                                       act_bits=cfg.act_bits)
        start = ACTIVATIONS + slot * SLOT
        assert acts.size <= SLOT
        self.memory.content[start:start + acts.size] = acts.tobytes()
        m, n = x.shape[0], w.shape[0]
        size = math.ceil(n / cfg.cols) * m * cfg.result_beats_per_row * self.data_bytes
        start = RESULTS + slot * 2 * SLOT
        assert size <= 2 * SLOT
        self.memory.content[start:start + size] = bytes([0xA5]) * size   # stale bytes
        return size

    async def program(self, m, k, n, slot=0):
        """Write a job's sizes and the addresses of its images in queue slot ``slot``."""
        for name, value in (("M", m), ("K", k), ("N", n),
                            ("ACTIVATIONS_LO", ACTIVATIONS + slot * SLOT),
                            ("RESULTS_LO", RESULTS + slot * 2 * SLOT)):
            await self.write(name, value)
        for port in range(self.ports):
            await self.write(f"WEIGHTS{port}_LO", WEIGHTS + port * PORT + slot * SLOT)

    def results(self, x, w, size, slot=0):
        start = RESULTS + slot * 2 * SLOT
        return golden.image_results(self.memory.content[start:start + size], m=x.shape[0],
                                    n=w.shape[0], cols=self.config.cols,
                                    lanes=self.config.result_beat_lanes, beat=self.data_bytes,
                                    acc_bits=self.config.acc_bits)

    async def job(self, x, w, *, timeout=200_000):
        """Run one job through the registers; returns (STATUS fields, CYCLES, Y or None)."""
        size = self.place(x, w)
        m, k = x.shape
        await self.program(m, k, w.shape[0])
        await self.write("IRQ_STATUS", 1)
        await self.write("CONTROL", 3)                       # start, irq enabled
        for _ in range(timeout):
            await RisingEdge(self.dut.clk)
            if self.dut.irq.value == 1:
                break
        else:
            raise AssertionError("no interrupt: the job did not end")
        status = await self.read("STATUS")
        fields = {"busy": status & 1, "done": status >> 1 & 1, "error": status >> 2 & 1,
                  "cause": status >> 4 & 15, "resp": status >> 8 & 3}
        cycles = await self.read("CYCLES_LO")
        y = self.results(x, w, size) if fields["done"] else None
        return fields, cycles, y


async def _setup(dut, memory=None):
    config = _config(bench_config())
    start_clock(dut)
    dut.rst.value = 1
    memory = memory or BenchMemory(bytes(MEMORY_BYTES))
    bench = _Bench(dut, config, memory)
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return bench


async def _setup_watching_starts(dut, label):
    """The bench, its seeded generator, and the cycles the starts were accepted (``starts``)
    with the current cycle of that count (``clock[0]``)."""
    np_rng, _ = bench_rng(dut, f"axi top {label}")
    bench = await _setup(dut)
    starts, clock = [], [0]
    cocotb.start_soon(record_starts(dut, bench.offsets["CONTROL"], starts, clock))
    return np_rng, bench, starts, clock


def _expected(config, x, w):
    """Golden's result of the job: ternary GEMM, or the int8 baseline's."""
    return golden.int8_gemm(x, w) if config.pe == "int8" else golden.int_gemm(x, w)


def _job(rng, config, m, k, n):
    x = rng.integers(-128, 128, size=(m, k))
    low, high = (-128, 128) if config.pe == "int8" else (-1, 2)
    return x, rng.integers(low, high, size=(n, k))


@cocotb.test()
async def jobs_bit_exact_with_stalls(dut):
    np_rng, rng = bench_rng(dut, "axi top jobs")
    bench = await _setup(dut)
    cfg = bench.config

    def pause(probability):
        while True:
            yield rng.random() < probability

    shapes = [(1, cfg.rows, cfg.cols), (1, 3 * cfg.rows + 1, 2 * cfg.cols - 1),
              (5, 2 * cfg.rows, 3 * cfg.cols), (cfg.max_m, cfg.rows + 3, cfg.cols + 2),
              (2, 5 * cfg.rows, cfg.cols), (cfg.max_m - 3, 2 * cfg.rows, 4 * cfg.cols + 1)]
    for m, k, n in shapes:
        for stall in (False, True):
            for channel in bench.channels():
                channel.set_pause_generator(pause(0.3) if stall else pause(0.0))
            x, w = _job(np_rng, cfg, m, k, n)
            status, cycles, y = await bench.job(x, w)
            assert status == {"busy": 0, "done": 1, "error": 0, "cause": 0, "resp": 0}, status
            np.testing.assert_array_equal(y, _expected(bench.config, x, w), err_msg=f"{m}x{k}x{n}")
            dut._log.info("job %dx%dx%d%s: %d cycles", m, k, n, " (stalls)" if stall else "",
                          cycles)
            if not stall:
                assert cycles == axi_job_cycles(cfg, m, k, n, read_latency=LATENCY), \
                    f"{m}x{k}x{n}: {cycles} cycles"


@cocotb.test()
async def queued_jobs(dut):
    """Jobs queued behind each other, as decode runs a layer's projections: each started while
    the one before it runs (one started late, its beats not read in time; one after the queue
    ran dry), every job's images in their own place; bit-exact with and without stalls, and
    without stalls every job's ``CYCLES`` equals the queue's cycle model given the cycles the
    starts were accepted."""
    from cocotb.triggers import ClockCycles
    np_rng, rng = bench_rng(dut, "axi top queue")
    bench = await _setup(dut)
    cfg = bench.config
    starts = []
    cocotb.start_soon(record_starts(dut, bench.offsets["CONTROL"], starts))

    def pause(probability):
        while True:
            yield rng.random() < probability

    # (shape, cycles to wait before starting it once the job two before it has ended)
    plan = [((1, cfg.max_k, cfg.max_n), 0), ((1, cfg.max_k // 2, cfg.max_n - 3), 0),
            ((cfg.max_m // 2, cfg.max_k, cfg.max_n // 2), 0),
            ((1, cfg.max_k - 1, cfg.max_n), 0), ((3, cfg.max_k, cfg.max_n), 0),
            ((1, cfg.max_k, cfg.max_n), 0), ((3, cfg.max_k, cfg.max_n), 0),
            ((1, cfg.max_k, cfg.max_n), "late"), ((2, cfg.rows, cfg.cols), 0),
            ((1, 2 * cfg.rows, cfg.max_n), "dry")]
    shapes = [shape for shape, _ in plan]
    # "late": started about 30 cycles before the job before it ends (its register writes
    # take about as long), too late for its reads to hide behind that job: the model's
    # general case; "dry": started once the queue has run dry, from idle.
    late = axi_queue_cycles(cfg, shapes[:7], read_latency=LATENCY)[6] - 60
    for stall in (False, True):
        for channel in bench.channels():
            channel.set_pause_generator(pause(0.3 if stall else 0.0))
        jobs = [_job(np_rng, cfg, *shape) for shape in shapes]
        sizes = [bench.place(x, w, slot=i) for i, (x, w) in enumerate(jobs)]
        cycles, ended, first = [], await bench.read("JOBS"), len(starts)

        async def queue(i):
            x, w = jobs[i]
            await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=i)
            await bench.write("CONTROL", 1)
            status = await bench.read("STATUS")
            assert status & 1 and not status >> 3 & 1, f"job {i}: refused ({status:#x})"

        await bench.write("IRQ_STATUS", 1)
        await queue(0)
        await queue(1)
        for i in range(len(jobs)):
            for _ in range(200_000):
                if await bench.read("JOBS") > ended:
                    break
            else:
                raise AssertionError(f"job {i} did not end")
            ended += 1
            cycles.append(await bench.read("CYCLES_LO"))
            # no error (done may be cleared already by a start from idle after it)
            status = await bench.read("STATUS")
            assert not status >> 2 & 1, f"job {i}: STATUS {status:#x}"
            assert await bench.read("JOBS") == ended, "two jobs ended at once"
            if i + 2 < len(jobs):
                wait = plan[i + 2][1]
                if wait == "dry":
                    while await bench.read("STATUS") & 1:
                        pass
                elif wait == "late":
                    await ClockCycles(dut.clk, late)
                await queue(i + 2)
        for i, ((x, w), size) in enumerate(zip(jobs, sizes)):
            np.testing.assert_array_equal(bench.results(x, w, size, slot=i),
                                          _expected(bench.config, x, w), err_msg=f"job {i} {shapes[i]}")
        launches = [cycle - starts[first] for cycle in starts[first:]]
        dut._log.info("queue%s: CYCLES %s, starts %s", " (stalls)" if stall else "", cycles,
                      launches)
        assert len(launches) == len(jobs)
        if not stall:
            assert cycles == axi_queue_cycles(cfg, shapes, launches=launches,
                                              read_latency=LATENCY), cycles
            # the late one took longer than queued in time behind the same job
            in_time = axi_queue_cycles(cfg, shapes[6:8], read_latency=LATENCY)[1]
            assert cycles[7] > in_time, (cycles[7], in_time)


@cocotb.test()
async def read_error_ends_the_job(dut):
    np_rng, _ = bench_rng(dut, "axi top error")
    hole = range(WEIGHTS + 8, WEIGHTS + 12)      # the weight image's third 32-bit beat
    bench = await _setup(dut, BenchMemory(bytes(MEMORY_BYTES), hole))
    cfg = bench.config
    x, w = _job(np_rng, cfg, 3, 4 * cfg.rows, 4 * cfg.cols)
    status, _, _ = await bench.job(x, w)
    assert status == {"busy": 0, "done": 0, "error": 1, "cause": 4, "resp": 2}, status
    # The hole is gone for the next job, which must run as if nothing happened.
    bench.memory.hole = range(0)
    x, w = _job(np_rng, cfg, 2, 2 * cfg.rows + 1, 3 * cfg.cols)
    status, _, y = await bench.job(x, w)
    assert status["done"] == 1 and status["error"] == 0
    np.testing.assert_array_equal(y, _expected(bench.config, x, w))


@cocotb.test()
async def an_error_drops_the_queued_job(dut):
    """A read error of the running job ends it and drops the job queued behind it (whose
    reads may have begun): ``STATUS.dropped``, one job counted; both then run."""
    np_rng, _ = bench_rng(dut, "axi top queue error")
    hole = range(WEIGHTS + 4 * 64, WEIGHTS + 4 * 64 + 4)     # inside job 0's weight image
    bench = await _setup(dut, BenchMemory(bytes(MEMORY_BYTES), hole))
    cfg = bench.config
    jobs = [_job(np_rng, cfg, 2, cfg.max_k, cfg.max_n), _job(np_rng, cfg, 1, cfg.max_k, 8)]
    sizes = [bench.place(x, w, slot=i) for i, (x, w) in enumerate(jobs)]
    jobs_before = await bench.read("JOBS")
    for i, (x, w) in enumerate(jobs):
        await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=i)
        await bench.write("CONTROL", 1)
    assert (await bench.read("STATUS")) >> 10 & 1 == 1           # queued
    for _ in range(100_000):
        status = await bench.read("STATUS")
        if not status & 1:
            break
    fields = {"error": status >> 2 & 1, "cause": status >> 4 & 15, "resp": status >> 8 & 3,
              "queued": status >> 10 & 1, "dropped": status >> 11 & 1}
    assert fields == {"error": 1, "cause": 4, "resp": 2, "queued": 0, "dropped": 1}, fields
    assert await bench.read("JOBS") == jobs_before + 1
    bench.memory.hole = range(0)
    for i, (x, w) in enumerate(jobs):
        bench.place(x, w, slot=i)
        await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=i)
        await bench.write("CONTROL", 1)
        while await bench.read("STATUS") & 1:
            pass
        status = await bench.read("STATUS")
        assert status >> 1 & 1 and not status >> 11 & 1, hex(status)
        np.testing.assert_array_equal(bench.results(x, w, sizes[i], slot=i),
                                      _expected(bench.config, x, w))


@cocotb.test()
async def a_queued_jobs_read_error_fails_only_it(dut):
    """An error response to the queued job's early reads stops only them: the running job
    finishes bit-exact, then the queued job fails with its own cause (not dropped)."""
    np_rng, _ = bench_rng(dut, "axi top queued read error")
    hole = range(WEIGHTS + SLOT + 8, WEIGHTS + SLOT + 12)    # in job 1's weights
    bench = await _setup(dut, BenchMemory(bytes(MEMORY_BYTES), hole))
    cfg = bench.config
    jobs = [_job(np_rng, cfg, cfg.max_m, cfg.max_k, cfg.max_n), _job(np_rng, cfg, 1, 16, 8)]
    sizes = [bench.place(x, w, slot=i) for i, (x, w) in enumerate(jobs)]
    before = {name: await bench.read(name) for name in ("JOBS", "FAILURES")}
    for i, (x, w) in enumerate(jobs):
        await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=i)
        await bench.write("CONTROL", 1)
    assert (await bench.read("STATUS")) >> 10 & 1 == 1           # queued
    while await bench.read("STATUS") & 1:
        pass
    status = await bench.read("STATUS")
    fields = {"error": status >> 2 & 1, "cause": status >> 4 & 15, "dropped": status >> 11 & 1}
    assert fields == {"error": 1, "cause": 4, "dropped": 0}, hex(status)
    assert await bench.read("JOBS") == before["JOBS"] + 2
    failures = await bench.read("FAILURES")
    assert failures & 0xFFFF == (before["FAILURES"] & 0xFFFF) + 1 and failures >> 16 & 15 == 4
    x, w = jobs[0]
    np.testing.assert_array_equal(bench.results(x, w, sizes[0]), _expected(bench.config, x, w))


@cocotb.test()
async def a_start_near_a_failure(dut):
    """A job started in any cycle around the running job's failure (a result write error) is
    dropped, refused or run from idle, never started behind the abort: the core never hangs,
    and the next job is bit-exact."""
    from cocotb.triggers import ClockCycles
    np_rng, bench, starts, clock = await _setup_watching_starts(dut, "start near a failure")
    cfg = bench.config
    failing = _job(np_rng, cfg, 2, 2 * cfg.rows, 2 * cfg.cols)
    later = _job(np_rng, cfg, 1, cfg.max_k, cfg.max_n)      # more beats than a reader's FIFO
    after = _job(np_rng, cfg, 1, 2 * cfg.rows, cfg.cols)
    sizes = [bench.place(x, w, slot=i) for i, (x, w) in enumerate((failing, later, after))]
    failure = range(RESULTS, RESULTS + 4)                   # the failing job's first result

    async def run(job, slot):
        x, w = job
        await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=slot)
        await bench.write("CONTROL", 1)

    async def idle(what):
        for _ in range(20_000):
            if not await bench.read("STATUS") & 1:
                return
        raise AssertionError(f"the core hangs ({what})")

    bench.memory.hole = failure
    await run(failing, 0)                                   # how long it takes alone
    await idle("the failing job alone")
    failing_cycles = await bench.read("CYCLES_LO")
    seen = {}
    for offset in range(failing_cycles - 40, failing_cycles + 4):
        bench.memory.hole = failure
        await run(failing, 0)
        launched = starts[-1]
        x, w = later
        await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=1)
        if launched + offset - 2 > clock[0]:                # a write is taken 2 cycles on
            await ClockCycles(dut.clk, launched + offset - 2 - clock[0])
        await bench.write("CONTROL", 1)
        relative = starts[-1] - launched
        await idle(f"a start {relative} cycles after the failing job's")
        seen[relative] = await bench.read("STATUS")
        bench.memory.hole = range(0)
        await run(after, 2)
        await idle("the job after")
        x, w = after
        np.testing.assert_array_equal(bench.results(x, w, sizes[2], slot=2),
                                      _expected(bench.config, x, w), err_msg=f"start at {relative}")
    dut._log.info("failing job: %d cycles; STATUS after a start at each offset: %s",
                  failing_cycles, {k: hex(v) for k, v in sorted(seen.items())})
    assert len(seen) >= 30
    # some of those starts were queued and dropped, some came during the drain (refused),
    # some after the end (run from idle, done)
    assert any(v >> 11 & 1 for v in seen.values())
    assert any(v >> 3 & 1 for v in seen.values())
    assert any(v >> 1 & 1 for v in seen.values())


@cocotb.test()
async def a_start_in_every_cycle_around_an_end(dut):
    """A job started in each cycle from a few before the running job's end to a few after:
    queued late, handed over in the end's own cycle, or run from idle; bit-exact, and its
    ``CYCLES`` equal the queue model given the start cycles."""
    from cocotb.triggers import ClockCycles
    np_rng, bench, starts, clock = await _setup_watching_starts(dut, "start around an end")
    cfg = bench.config
    first = _job(np_rng, cfg, 2, 2 * cfg.rows, 2 * cfg.cols)
    second = _job(np_rng, cfg, 1, 3 * cfg.rows, 2 * cfg.cols + 1)
    sizes = [bench.place(x, w, slot=i) for i, (x, w) in enumerate((first, second))]
    shapes = [(x.shape[0], x.shape[1], w.shape[0]) for x, w in (first, second)]
    alone = axi_queue_cycles(cfg, shapes[:1], read_latency=LATENCY)[0]
    seen = set()
    for offset in range(alone - 8, alone + 5):
        for slot, (x, w) in enumerate((first, second)):
            await bench.program(x.shape[0], x.shape[1], w.shape[0], slot=slot)
            if slot == 0:
                await bench.write("CONTROL", 1)
                launched = starts[-1]
            else:
                if launched + offset - 2 > clock[0]:       # a write is taken 2 cycles on
                    await ClockCycles(dut.clk, launched + offset - 2 - clock[0])
                await bench.write("CONTROL", 1)
        relative = starts[-1] - launched
        seen.add(relative)
        while await bench.read("STATUS") & 1:
            pass
        x, w = second
        np.testing.assert_array_equal(bench.results(x, w, sizes[1], slot=1),
                                      _expected(cfg, x, w), err_msg=f"start at {relative}")
        model = axi_queue_cycles(cfg, shapes, launches=[0, relative], read_latency=LATENCY)
        assert await bench.read("CYCLES_LO") == model[1], (relative, model)
    dut._log.info("the first job: %d cycles alone; the second started at %s", alone,
                  sorted(seen))
    assert {alone - 1, alone, alone + 1} <= seen, sorted(seen)


@cocotb.test()
async def activation_read_and_result_write_errors(dut):
    np_rng, _ = bench_rng(dut, "axi top data errors")
    bench = await _setup(dut)
    cfg = bench.config
    beat = bench.data_bytes
    for hole, cause in ((range(ACTIVATIONS + beat, ACTIVATIONS + beat + 4), 5),
                        (range(RESULTS + 2 * beat, RESULTS + 2 * beat + 4), 6)):
        bench.memory.hole = hole
        x, w = _job(np_rng, cfg, 3, 3 * cfg.rows, 3 * cfg.cols)
        status, _, _ = await bench.job(x, w)
        assert status == {"busy": 0, "done": 0, "error": 1, "cause": cause, "resp": 2}, status
    bench.memory.hole = range(0)
    x, w = _job(np_rng, cfg, 2, 2 * cfg.rows, 2 * cfg.cols)
    status, _, y = await bench.job(x, w)
    assert status["done"] == 1
    np.testing.assert_array_equal(y, _expected(bench.config, x, w))


@cocotb.test()
async def refused_starts_touch_no_memory(dut):
    bench = await _setup(dut)
    requests = []
    cocotb.start_soon(_count_requests(dut, bench.ports, requests))
    cases = [{"M": 0}, {"K": bench.config.max_k + 1}, {"ACTIVATIONS_LO": 0},
             {"RESULTS_LO": RESULTS + 1}, {"WEIGHTS0_LO": WEIGHTS + 2}]
    for changes in cases:
        for name, value in (("M", 2), ("K", 8), ("N", 8), ("ACTIVATIONS_LO", ACTIVATIONS),
                            ("RESULTS_LO", RESULTS), ("WEIGHTS0_LO", WEIGHTS), *changes.items()):
            await bench.write(name, value)
        await bench.write("CONTROL", 1)
        await ClockCycles(dut.clk, 20)
        status = await bench.read("STATUS")
        assert status & 1 == 0 and status >> 2 & 1 == 1, (changes, hex(status))
        assert status >> 4 & 15 == (1 if set(changes) & {"M", "K"} else 2), (changes, hex(status))
    assert requests == [], requests


async def _count_requests(dut, ports, requests):
    from cocotb.triggers import ReadOnly
    channels = [f"m_axi_w{port}__ar" for port in range(ports)] + ["m_axi_d__ar", "m_axi_d__aw"]
    while True:
        await RisingEdge(dut.clk)
        await ReadOnly()
        requests += [name for name in channels if getattr(dut, f"{name}valid").value == 1]


@cocotb.test()
async def reset_in_the_middle_of_bursts(dut):
    np_rng, _ = bench_rng(dut, "axi top reset")
    bench = await _setup(dut)
    cfg = bench.config
    x, w = _job(np_rng, cfg, cfg.max_m, 6 * cfg.rows, 6 * cfg.cols)
    bench.place(x, w)
    for name, value in (("M", cfg.max_m), ("K", 6 * cfg.rows), ("N", 6 * cfg.cols),
                        ("ACTIVATIONS_LO", ACTIVATIONS), ("RESULTS_LO", RESULTS),
                        ("WEIGHTS0_LO", WEIGHTS)):
        await bench.write(name, value)
    await bench.write("CONTROL", 1)
    await ClockCycles(dut.clk, LATENCY + 30)       # bursts in flight on every port
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    assert await bench.read("STATUS") == 0
    x, w = _job(np_rng, cfg, 4, 3 * cfg.rows, 2 * cfg.cols)
    status, _, y = await bench.job(x, w)
    assert status["done"] == 1 and status["error"] == 0
    np.testing.assert_array_equal(y, _expected(bench.config, x, w))


@pytest.mark.parametrize("label", list(CONFIGS))
def test_axi_top(label):
    from .axi_bench import axi_bench_design
    verilog, toplevel = axi_bench_design(_config(CONFIGS[label]), LATENCY)
    run_bench(kind="axi_top", key=label, verilog=verilog, toplevel=toplevel,
              module="cosim.test_axi_top", config=CONFIGS[label], name=label)
