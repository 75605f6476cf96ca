"""The cocotb test that ``run_gemm(..., interface="axi")`` runs inside the simulator: one GEMM
through memory on the memory-mapped bench (:class:`cosim.axi_driver.AxiDriver`); the job file
(``job.npz``: ``x``, ``w``) and the outcome (``result.npz``: ``y``, ``cycles``, ``jobs``) sit
in the run folder."""

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
    result = await driver.gemm(job["x"], job["w"])
    np.savez(path.parent / "result.npz", y=result.y, cycles=result.cycles, jobs=result.jobs)
