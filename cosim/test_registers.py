"""cocotb bench of the AXI4-Lite registers with cocotbext-axi's ``AxiLiteMaster``.

The expectations come from the register table (``rtl.axi.register_map``) and the documented
behaviour: every register's reset value, read-write fields read back with byte strobes, an
address outside the map answered with SLVERR, a start refused for each documented cause with
no launch, a start that launches exactly once, the cycle counter, the end of a job (done or
failed with its cause and response), write-1-to-clear and the interrupt, and the queue: a start
while a job runs queues the next one (or is refused with the documented refusal), its end hands
over to the queued job, a failure drops it.
"""

import pytest

import cocotb
from cocotb.triggers import ClockCycles, ReadOnly, RisingEdge

from .bench import bench_config, run_bench, start_clock


CONFIG = dict(rows=16, cols=16, weight_port_bits=128, max_m=20, max_k=100, max_n=60)
DATA_PORT_BITS = 64
WEIGHT_PORTS = 2
SLVERR = 2


def _map():
    from rtl.axi.register_map import register_map
    from rtl.config import AccelConfig
    return register_map(AccelConfig(**CONFIG), data_port_bits=DATA_PORT_BITS,
                        weight_ports=WEIGHT_PORTS)


class _Bench:
    def __init__(self, dut):
        from cocotbext.axi import AxiLiteBus, AxiLiteMaster
        self.dut = dut
        self.master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "bus_"), dut.clk, dut.rst)
        self.offsets = {reg.name: reg.offset for reg in _map()}
        self.launches = 0
        self.cycle = self.launch_cycle = self.end_cycle = 0
        cocotb.start_soon(self._count_launches())

    async def _count_launches(self):
        while True:
            await RisingEdge(self.dut.clk)
            await ReadOnly()
            self.cycle += 1
            if self.dut.launch.value == 1:
                self.launches += 1
                self.launch_cycle = self.cycle
            if self.dut.job_done.value == 1 or self.dut.job_failed.value == 1:
                self.end_cycle = self.cycle

    async def read(self, name):
        response = await self.master.read(self.offsets[name], 4)
        assert response.resp == 0, f"read {name}: resp {response.resp}"
        return int.from_bytes(response.data, "little")

    async def write(self, name, value):
        response = await self.master.write(self.offsets[name], value.to_bytes(4, "little"))
        assert response.resp == 0, f"write {name}: resp {response.resp}"

    async def status(self):
        value = await self.read("STATUS")
        return {"busy": value & 1, "done": value >> 1 & 1, "error": value >> 2 & 1,
                "refused": value >> 3 & 1, "cause": value >> 4 & 15, "resp": value >> 8 & 3,
                "queued": value >> 10 & 1, "dropped": value >> 11 & 1,
                "refusal": value >> 12 & 15}

    async def end_job(self, failed=False):
        """Pulse ``job_done`` (or ``job_failed`` with cause 5, resp 3) for one cycle."""
        dut = self.dut
        if failed:
            dut.fail_cause.value, dut.fail_resp.value, dut.job_failed.value = 5, 3, 1
        else:
            dut.job_done.value = 1
        await RisingEdge(dut.clk)
        dut.job_done.value = dut.job_failed.value = 0
        await ClockCycles(dut.clk, 2)

    async def good_job(self):
        for name, value in (("M", 3), ("K", 50), ("N", 60), ("ACTIVATIONS_LO", 0x1000),
                            ("RESULTS_LO", 0x2008), ("WEIGHTS0_LO", 0x3000),
                            ("WEIGHTS1_HI", 0x1)):
            await self.write(name, value)


async def _setup(dut):
    start_clock(dut)
    dut.rst.value = 1
    for name in ("job_done", "job_failed", "fail_cause", "fail_resp"):
        getattr(dut, name).value = 0
    dut.can_queue.value = 0
    bench = _Bench(dut)
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 2)
    return bench


@cocotb.test()
async def reset_values_and_read_back(dut):
    bench = await _setup(dut)
    for reg in _map():
        assert await bench.read(reg.name) == reg.reset, reg.name
    assert await bench.read("ID") == 0x5441_0002
    assert await bench.read("INFO_ARRAY") == 16 | 16 << 16
    for name, value in (("K", 77), ("ACTIVATIONS_LO", 0xDEAD_BEE8), ("WEIGHTS1_HI", 0x1234)):
        await bench.write(name, value)
        assert await bench.read(name) == value
    # Byte strobes: one byte written at offset + 1 changes bits 15:8 only.
    await bench.master.write(bench.offsets["RESULTS_LO"], bytes([0x11, 0x22, 0x33, 0x44]))
    await bench.master.write(bench.offsets["RESULTS_LO"] + 1, bytes([0xAB]))
    assert await bench.read("RESULTS_LO") == 0x4433_AB11
    # The sizes keep all 32 bits (a start then refuses what exceeds the design); read-only
    # registers ignore writes.
    await bench.write("M", 0xFFFF_FFFF)
    assert await bench.read("M") == 0xFFFF_FFFF
    await bench.write("INFO_ARRAY", 0)
    assert await bench.read("INFO_ARRAY") == 16 | 16 << 16
    # Outside the map: SLVERR, and reads return 0.
    response = await bench.master.read(0xF0, 4)
    assert response.resp == SLVERR and response.data == bytes(4)
    assert (await bench.master.write(0xF0, bytes(4))).resp == SLVERR
    assert bench.launches == 0


@cocotb.test()
async def refused_starts(dut):
    bench = await _setup(dut)
    await bench.write("CONTROL", 2)                      # irq_enable
    cases = [({}, "size"),                               # M = K = N = 0 after reset
             ({"M": 21}, "size"), ({"K": 101}, "size"), ({"N": 61}, "size"),
             ({"M": 35}, "size"),                # 3 in the 5 bits the core takes: refused
             ({"K": 1 << 20}, "size"),
             ({"ACTIVATIONS_LO": 0}, "address"), ({"RESULTS_LO": 0x2004}, "address"),
             ({"WEIGHTS0_LO": 0x3002}, "address"), ({"WEIGHTS1_HI": 0}, "address")]
    causes = {"size": 1, "address": 2}
    for changes, cause in cases:
        if changes:
            await bench.good_job()
        for name, value in changes.items():
            await bench.write(name, value)
        await bench.write("CONTROL", 3)                  # start, irq_enable kept
        status = await bench.status()
        assert status["error"] == 1 and status["cause"] == causes[cause], (changes, status)
        assert status["busy"] == 0
        assert await bench.read("IRQ_STATUS") == 1 and dut.irq.value == 1
        await bench.write("IRQ_STATUS", 1)               # write 1 to clear
        await ClockCycles(dut.clk, 2)
        assert await bench.read("IRQ_STATUS") == 0 and dut.irq.value == 0
    assert bench.launches == 0


STATUS_IDLE = {"busy": 0, "done": 0, "error": 0, "refused": 0, "cause": 0, "resp": 0,
               "queued": 0, "dropped": 0, "refusal": 0}


@cocotb.test()
async def a_job_from_start_to_end(dut):
    bench = await _setup(dut)
    await bench.good_job()
    await bench.write("CONTROL", 1)                      # start, no interrupt
    assert bench.launches == 1
    assert dut.m.value == 3 and dut.k.value == 50 and dut.n.value == 60
    assert dut.weights.value.to_unsigned() >> 64 == 1 << 32  # WEIGHTS1 = 0x1_0000_0000
    status = await bench.status()
    assert status == {**STATUS_IDLE, "busy": 1}
    # A second start while the top cannot queue: refused as busy, the job goes on with its
    # status and no interrupt.
    await bench.write("IRQ_STATUS", 1)
    await bench.write("CONTROL", 1)
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "refused": 1, "refusal": 3}
    assert await bench.read("IRQ_STATUS") == 0
    assert bench.launches == 1
    await ClockCycles(dut.clk, 40)
    assert await bench.read("CYCLES_LO") == 0            # no job has ended yet
    await bench.write("IRQ_STATUS", 1)
    launched = bench.launch_cycle
    await bench.end_job()
    # the pulse comes the cycle after the job's end
    assert await bench.read("CYCLES_LO") == bench.end_cycle - 1 - launched
    status = await bench.status()
    assert status == {**STATUS_IDLE, "done": 1, "refused": 1, "refusal": 3}
    assert await bench.read("JOBS") == 1
    assert await bench.read("IRQ_STATUS") == 1 and dut.irq.value == 0   # irq not enabled
    # The next start clears done, error, cause, refused; a failure ends it with its cause and
    # resp.
    await bench.write("CONTROL", 1)
    assert bench.launches == 2
    assert await bench.status() == {**STATUS_IDLE, "busy": 1}
    await bench.end_job(failed=True)
    assert await bench.status() == {**STATUS_IDLE, "error": 1, "cause": 5, "resp": 3}
    assert await bench.read("JOBS") == 2


@cocotb.test()
async def the_queue(dut):
    bench = await _setup(dut)
    await bench.good_job()
    await bench.write("CONTROL", 1)
    first = bench.launch_cycle
    dut.can_queue.value = 1
    # A start behind the running job with a bad size or address: refused, nothing queued.
    await bench.write("N", 61)
    await bench.write("CONTROL", 1)
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "refused": 1, "refusal": 1}
    await bench.write("N", 60)
    await bench.write("RESULTS_LO", 0x2004)
    await bench.write("CONTROL", 1)
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "refused": 1, "refusal": 2}
    assert bench.launches == 1
    # A good one is queued (launch with its own sizes); a third start is refused as busy.
    await bench.write("RESULTS_LO", 0x4000)
    await bench.write("M", 7)
    await bench.write("CONTROL", 1)
    assert bench.launches == 2 and dut.m.value == 7 and dut.results.value == 0x4000
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "queued": 1}
    await bench.write("CONTROL", 1)
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "queued": 1, "refused": 1,
                                    "refusal": 3}
    assert bench.launches == 2
    # The running job ends: the queued one runs, CYCLES holds the first one's cycles.
    await bench.end_job()
    first_end = bench.end_cycle
    assert await bench.read("CYCLES_LO") == first_end - 1 - first
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "done": 1, "refused": 1,
                                    "refusal": 3}
    assert await bench.read("JOBS") == 1
    # Queue a third one; the second ends (CYCLES from the first one's end), the third fails
    # and nothing is dropped; then a fifth queued behind a fourth is dropped by a failure.
    await bench.write("CONTROL", 1)
    assert bench.launches == 3
    assert (await bench.status())["queued"] == 1
    await bench.end_job()
    assert await bench.read("CYCLES_LO") == bench.end_cycle - first_end
    second_end = bench.end_cycle
    await bench.end_job(failed=True)
    assert await bench.read("CYCLES_LO") == bench.end_cycle - second_end
    assert await bench.status() == {**STATUS_IDLE, "error": 1, "cause": 5, "resp": 3}
    assert await bench.read("JOBS") == 3
    await bench.write("CONTROL", 1)
    await bench.write("CONTROL", 1)
    assert await bench.status() == {**STATUS_IDLE, "busy": 1, "queued": 1}
    await bench.end_job(failed=True)
    assert await bench.status() == {**STATUS_IDLE, "error": 1, "cause": 5, "resp": 3,
                                    "dropped": 1}
    assert await bench.read("JOBS") == 4 and bench.launches == 5
    # FAILURES: two failed jobs, the last one's cause and response, kept by a start from idle
    # (which clears STATUS.error)
    assert await bench.read("FAILURES") == 2 | 5 << 16 | 3 << 20
    await bench.write("CONTROL", 1)
    assert (await bench.status())["error"] == 0
    assert await bench.read("FAILURES") == 2 | 5 << 16 | 3 << 20


@pytest.mark.parametrize("label", ["registers"])
def test_registers(label):
    from gen.emit import emit_module
    from rtl.axi.registers import Registers
    from rtl.config import AccelConfig
    design = Registers(AccelConfig(**CONFIG), data_port_bits=DATA_PORT_BITS,
                       weight_ports=WEIGHT_PORTS)
    verilog = emit_module(design, "registers_bench")
    run_bench(kind="registers", key=label, verilog=verilog, toplevel="registers_bench",
              module="cosim.test_registers", config=[], name=label)
