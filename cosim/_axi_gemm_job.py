"""The cocotb test that ``run_gemm(..., interface="axi")`` and ``run_axi_queue`` run inside the
simulator: one GEMM through memory on the memory-mapped bench
(:class:`cosim.axi_driver.AxiDriver`), or a queue of jobs. The job file (``job.npz``: ``x``,
``w``; a queue: ``x0``, ``w0``, ``x1``, ... and ``count``) and the outcome (``result.npz``:
``y``, ``cycles``, ``jobs``; a queue: ``y0``, ``y1``, ... and ``cycles`` and ``launches``,
one per job) sit in the run folder."""

import numpy as np

import cocotb

from rtl.config import AccelConfig

from .axi_driver import AxiDriver
from .runner import job_config, job_file


@cocotb.test()
async def axi_gemm_job(dut):
    config = AccelConfig(**job_config())
    path = job_file()
    job = np.load(path)
    driver = AxiDriver(dut, config)
    await driver.reset()
    if "count" in job:
        count = int(job["count"])
        outcome, launches = await driver.queue([(job[f"x{i}"], job[f"w{i}"])
                                                for i in range(count)])
        np.savez(path.parent / "result.npz", cycles=[cycles for _, cycles in outcome],
                 launches=launches, **{f"y{i}": y for i, (y, _) in enumerate(outcome)})
        return
    result = await driver.gemm(job["x"], job["w"])
    np.savez(path.parent / "result.npz", y=result.y, cycles=result.cycles, jobs=result.jobs)
