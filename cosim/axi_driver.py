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

from .axi_bench import BenchMemory


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
        self.offsets = {reg.name: reg.offset for reg in register_map(
            config, data_port_bits=8 * self.data_bytes, weight_ports=self.ports)}
        self._master = None

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
        await ClockCycles(dut.clk, 2)

    async def _write(self, name, value):
        response = await self._master.write(self.offsets[name], value.to_bytes(4, "little"))
        if response.resp != 0:
            raise AxiJobError(f"register {name} answered {response.resp}")

    async def _read(self, name):
        response = await self._master.read(self.offsets[name], 4)
        return int.from_bytes(response.data, "little")

    async def job(self, x, w, *, max_cycles=None):
        """One hardware job (``M <= max_m``): ``(Y, CYCLES)``."""
        from cocotb.triggers import First, RisingEdge, Timer
        from rtl.axi.cycles import axi_job_cycles
        cfg = self.config
        m, k = x.shape
        n = w.shape[0]
        image = golden.weight_image(w, cfg.format, rows=cfg.rows, cols=cfg.cols,
                                    rows_per_beat=cfg.rows_per_beat)
        parts = golden.port_images(image, self.ports)
        acts = golden.activation_image(x, rows=cfg.rows, beat=self.data_bytes,
                                       act_bits=cfg.act_bits)
        result_bytes = (math.ceil(n / cfg.cols) * m * cfg.result_beats_per_row
                        * self.data_bytes)
        # one page of nothing at 0 (address 0 is refused), then each image on its own pages
        layout, cursor = {}, PAGE
        for name, size in [*((f"WEIGHTS{p}", part.size) for p, part in enumerate(parts)),
                           ("ACTIVATIONS", acts.size), ("RESULTS", result_bytes)]:
            layout[name] = cursor
            cursor += _pages(size)
        content = bytearray(cursor)
        for port, part in enumerate(parts):
            start = layout[f"WEIGHTS{port}"]
            content[start:start + part.size] = part.tobytes()
        start = layout["ACTIVATIONS"]
        content[start:start + acts.size] = acts.tobytes()
        self.memory.content = content

        for name, value in (("M", m), ("K", k), ("N", n)):
            await self._write(name, value)
        for name, address in layout.items():
            await self._write(f"{name}_LO", address)
            await self._write(f"{name}_HI", 0)
        await self._write("IRQ_STATUS", 1)
        await self._write("CONTROL", 3)           # start, irq enabled
        if max_cycles is None:
            max_cycles = 20 * axi_job_cycles(cfg, m, k, n) + 1000
        ended = RisingEdge(self.dut.irq)
        if self.dut.irq.value != 1 and await First(ended, Timer(10 * max_cycles, unit="ns")) \
                is not ended:
            raise AxiJobError(f"the {m}x{k}x{n} job did not end within {max_cycles} cycles")
        status = await self._read("STATUS")
        if not status >> 1 & 1:
            cause = status >> 4 & 15
            raise AxiJobError(f"the {m}x{k}x{n} job failed: STATUS {status:#x}, cause "
                              f"{ERROR_CAUSES.get(cause, ('unknown',))[0]}")
        cycles = await self._read("CYCLES_LO") | await self._read("CYCLES_HI") << 32
        start = layout["RESULTS"]
        y = golden.image_results(self.memory.content[start:start + result_bytes], m=m, n=n,
                                 cols=cfg.cols, lanes=cfg.result_beat_lanes,
                                 beat=self.data_bytes, acc_bits=cfg.acc_bits)
        return y, cycles

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
