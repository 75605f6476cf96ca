"""The cocotb test that :func:`cosim.run_gemm` runs inside the simulator: load the job, drive
it with :class:`~cosim.driver.AccelDriver`, save the result next to the job."""

import numpy as np

import cocotb

from rtl.config import AccelConfig

from .bench import start_clock
from .driver import AccelDriver
from .runner import job_config, job_file


@cocotb.test()
async def gemm_job(dut):
    config = AccelConfig(**job_config())
    path = job_file()
    job = np.load(path)
    start_clock(dut)
    driver = AccelDriver(dut, config)
    await driver.reset()
    result = await driver.gemm(job["x"], job["w"])
    np.savez(path.parent / "result.npz", y=result.y, cycles=result.cycles,
             utilization=result.utilization, jobs=result.jobs)
