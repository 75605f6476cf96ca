"""Drive the memory-mapped accelerator through memory, as software on a SoC would.

:class:`AxiDriver` runs GEMMs on the bench of :func:`cosim.axi_bench.axi_bench_design` (the
generated top behind a memory of :data:`cosim.axi_bench.BENCH_LATENCY` cycles): it lays the
job's images out in memory with golden's functions (:mod:`golden.memory_image`), programs the
registers through cocotbext-axi's ``AxiLiteMaster``, starts the job, waits for ``irq`` and reads
the results back from memory. cocotbext-axi's models (``AxiSlaveRead`` per weight port,
``AxiSlave`` on the data port) serve the memory. It has the ``gemm`` of
:class:`cosim.harness_driver.HarnessDriver`, so ``run_gemm(..., interface="axi")`` and the
transformer co-simulation use it unchanged.
"""

import math

import numpy as np

import golden
from rtl import interface
from rtl.axi.register_map import ERROR_CAUSES, register_map

from .axi_bench import BenchMemory, record_starts


__all__ = ["AxiDriver", "AxiJobError", "PAGE"]

#: Every image starts on a 4 KiB page.
PAGE = 4096


class AxiJobError(RuntimeError):
    """The core ended a job with an error, or did not end it."""


def _pages(size):
    return -(-size // PAGE) * PAGE


class AxiDriver:
    """GEMMs on the memory-mapped bench ``dut`` of ``config`` (``interface="axi"``).

    Call :meth:`reset` once (it starts the clock), then :meth:`gemm` for each GEMM.
    """

    def __init__(self, dut, config):
        self.dut = dut
        self.config = config
        self.ports = interface.weight_ports(config)
        self.data_bytes = interface.data_port_bits(config) // 8
        self.memory = BenchMemory(bytes(PAGE))
        registers = register_map(config, data_port_bits=8 * self.data_bytes,
                                 weight_ports=self.ports)
        self.offsets = {reg.name: reg.offset for reg in registers}
        self._fields = {(reg.name, field.name): field for reg in registers
                        for field in reg.fields}
        self._master = None
        self._starts = []           # the cycle of every start written, from the reset's end

    async def reset(self, cycles=3):
        """Start the clock and the cocotbext-axi models; hold ``rst`` for ``cycles``."""
        from cocotb.clock import Clock
        from cocotb.triggers import ClockCycles
        from cocotbext.axi import (AxiBus, AxiLiteBus, AxiLiteMaster, AxiReadBus, AxiSlave,
                                   AxiSlaveRead)
        dut = self.dut
        Clock(dut.clk, 10, unit="ns").start()
        dut.rst.value = 1
        self._master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil_"), dut.clk, dut.rst)
        self._models = [AxiSlaveRead(AxiReadBus.from_prefix(dut, f"m_axi_w{port}_"), dut.clk,
                                     dut.rst, target=self.memory)
                        for port in range(self.ports)]
        self._models.append(AxiSlave(AxiBus.from_prefix(dut, "m_axi_d_"), dut.clk, dut.rst,
                                     target=self.memory))
        import logging
        logging.getLogger("cocotb.axi_bench").setLevel(logging.WARNING)   # per-burst lines
        await ClockCycles(dut.clk, cycles)
        dut.rst.value = 0
        import cocotb
        cocotb.start_soon(record_starts(dut, self.offsets["CONTROL"], self._starts))
        await ClockCycles(dut.clk, 2)

    async def _write(self, name, value):
        response = await self._master.write(self.offsets[name], value.to_bytes(4, "little"))
        if response.resp != 0:
            raise AxiJobError(f"register {name} answered {response.resp}")

    async def _read(self, name):
        response = await self._master.read(self.offsets[name], 4)
        return int.from_bytes(response.data, "little")

    def _place(self, jobs):
        """Lay out the images of ``jobs`` (``[(x, w), ...]``) in memory, each on its own
        pages after one page of nothing at 0 (address 0 is refused); returns each job's
        ``{register stem: address}`` and result bytes."""
        cfg = self.config
        placed, pieces, cursor = [], [], PAGE
        for x, w in jobs:
            m, n = x.shape[0], w.shape[0]
            image = golden.weight_image(w, cfg.format, rows=cfg.rows, cols=cfg.cols,
                                        rows_per_beat=cfg.rows_per_beat)
            images = {f"WEIGHTS{p}": part
                      for p, part in enumerate(golden.port_images(image, self.ports))}
            images["ACTIVATIONS"] = golden.activation_image(x, rows=cfg.rows,
                                                            beat=self.data_bytes,
                                                            act_bits=cfg.act_bits)
            result_bytes = (math.ceil(n / cfg.cols) * m * cfg.result_beats_per_row
                            * self.data_bytes)
            layout = {}
            for name, size in [*((name, part.size) for name, part in images.items()),
                               ("RESULTS", result_bytes)]:
                layout[name] = cursor
                if name in images:
                    pieces.append((cursor, images[name].tobytes()))
                cursor += _pages(size)
            placed.append((layout, result_bytes))
        content = bytearray(cursor)
        for address, data in pieces:
            content[address:address + len(data)] = data
        self.memory.content = content
        return placed

    async def _program(self, x, w, layout):
        for name, value in (("M", x.shape[0]), ("K", x.shape[1]), ("N", w.shape[0])):
            await self._write(name, value)
        for name, address in layout.items():
            await self._write(f"{name}_LO", address)
            await self._write(f"{name}_HI", 0)

    def _results(self, x, w, layout, result_bytes):
        cfg = self.config
        start = layout["RESULTS"]
        return golden.image_results(self.memory.content[start:start + result_bytes],
                                    m=x.shape[0], n=w.shape[0], cols=cfg.cols,
                                    lanes=cfg.result_beat_lanes, beat=self.data_bytes,
                                    acc_bits=cfg.acc_bits)

    def _field(self, value, register, name):
        field = self._fields[register, name]
        return value >> field.lsb & ((1 << field.width) - 1)

    def _failed(self, cause, x, w, what):
        name = ERROR_CAUSES.get(cause, ("unknown",))[0]
        return AxiJobError(f"the {x.shape[0]}x{x.shape[1]}x{w.shape[0]} job failed: {what}, "
                           f"cause {name}")

    def _check_status(self, status, x, w):
        if not self._field(status, "STATUS", "done"):
            raise self._failed(self._field(status, "STATUS", "cause"), x, w,
                               f"STATUS {status:#x}")

    async def _cycles(self):
        return await self._read("CYCLES_LO") | await self._read("CYCLES_HI") << 32

    async def job(self, x, w, *, max_cycles=None):
        """One hardware job (``M <= max_m``) started from idle: ``(Y, CYCLES)``."""
        from cocotb.triggers import First, RisingEdge, Timer
        from rtl.axi.cycles import axi_job_cycles
        m, k = x.shape
        n = w.shape[0]
        [(layout, result_bytes)] = self._place([(x, w)])
        await self._program(x, w, layout)
        await self._write("IRQ_STATUS", 1)
        await self._write("CONTROL", 3)           # start, irq enabled
        if max_cycles is None:
            max_cycles = 20 * axi_job_cycles(self.config, m, k, n) + 1000
        ended = RisingEdge(self.dut.irq)
        if self.dut.irq.value != 1 and await First(ended, Timer(10 * max_cycles, unit="ns")) \
                is not ended:
            raise AxiJobError(f"the {m}x{k}x{n} job did not end within {max_cycles} cycles")
        self._check_status(await self._read("STATUS"), x, w)
        return self._results(x, w, layout, result_bytes), await self._cycles()

    async def queue(self, jobs, *, max_cycles=None):
        """Hardware jobs (each ``M <= max_m``) as a queue, as decode runs a layer's
        projections: the first started from idle, the second queued at once behind it, and
        each later one queued as soon as the one two before it has ended (the job before it
        then runs). Returns ``([(Y, CYCLES)], launches)``: each job's ``CYCLES`` counts from the
        end of the job before it, ``launches`` is the cycle each start was accepted, from the
        first one's (``rtl.axi.cycles.axi_queue_cycles(..., launches=launches)``)."""
        from cocotb.triggers import ClockCycles
        from rtl.axi.cycles import axi_job_cycles
        jobs = list(jobs)
        if not jobs:
            raise ValueError("jobs must hold at least one (x, w) pair")
        placed = self._place(jobs)
        if max_cycles is None:
            max_cycles = sum(20 * axi_job_cycles(self.config, x.shape[0], x.shape[1],
                                                 w.shape[0]) + 1000 for x, w in jobs)

        async def start(i):
            x, w = jobs[i]
            await self._program(x, w, placed[i][0])
            await self._write("CONTROL", 1)
            # accepted: queued behind the running job, or started from idle (the queue ran
            # dry); refused: STATUS.refused (while busy) or STATUS.error without busy (from idle)
            status = await self._read("STATUS")
            if (self._field(status, "STATUS", "refused")
                    or not self._field(status, "STATUS", "busy")):
                raise AxiJobError(f"job {i} of the queue was refused (STATUS {status:#x})")

        ended = await self._read("JOBS")
        failures = self._field(await self._read("FAILURES"), "FAILURES", "failed")
        first_start = len(self._starts)
        await start(0)
        if len(jobs) > 1:
            await start(1)
        outcome, waited = [], 0
        for i, (x, w) in enumerate(jobs):
            while await self._read("JOBS") == ended:
                await ClockCycles(self.dut.clk, 8)
                waited += 8
                if waited > max_cycles:
                    raise AxiJobError(f"job {i} of the queue did not end within {max_cycles} "
                                      "cycles")
            ended += 1
            cycles = await self._cycles()
            # FAILURES, not STATUS: a start from idle clears STATUS.error
            failed = await self._read("FAILURES")
            if self._field(failed, "FAILURES", "failed") != failures:
                raise self._failed(self._field(failed, "FAILURES", "cause"), x, w,
                                   f"FAILURES {failed:#x}")
            if await self._read("JOBS") != ended:
                raise AxiJobError(f"job {i + 1} of the queue ended before job {i}'s CYCLES "
                                  "were read")
            outcome.append(cycles)
            if i + 2 < len(jobs):
                await start(i + 2)
        starts = self._starts[first_start:]
        launches = [cycle - starts[0] for cycle in starts]
        return ([(self._results(x, w, *placed[i]), cycles)
                 for i, ((x, w), cycles) in enumerate(zip(jobs, outcome))], launches)

    async def gemm(self, x, w, *, max_cycles=None):
        """``Y = X @ W.T`` through memory; ``M`` above ``max_m`` runs as several jobs, one
        after another. Returns :class:`cosim.driver.GemmResult` (``cycles``: the ``CYCLES``
        registers summed)."""
        from .driver import GemmResult, check_gemm_operands, result_dtype
        from .harness import job_sizes
        cfg = self.config
        x, w = check_gemm_operands(x, w, cfg)
        parts, total, row = [], 0, 0
        sizes = job_sizes(x.shape[0], cfg.max_m)
        for rows in sizes:
            y, cycles = await self.job(x[row:row + rows], w, max_cycles=max_cycles)
            parts.append(y)
            total += cycles
            row += rows
        y = np.concatenate(parts).astype(result_dtype(cfg))
        m, k = x.shape
        return GemmResult(y=y, cycles=total,
                          utilization=cfg.utilization(m, k, w.shape[0], total),
                          jobs=len(sizes))
