"""The cocotb test that :func:`cosim.run_gemm` runs inside the simulator: load the job, drive
it with :class:`~cosim.driver.AccelDriver`, save the result next to the job."""

import json
import os

import numpy as np

import cocotb

from rtl.config import AccelConfig

from .api import JOB_VARIABLE
from .bench import CONFIG_VARIABLE, start_clock
from .driver import AccelDriver


@cocotb.test()
async def gemm_job(dut):
    config = AccelConfig(**json.loads(os.environ[CONFIG_VARIABLE]))
    job_path = os.environ[JOB_VARIABLE]
    job = np.load(job_path)
    start_clock(dut)
    driver = AccelDriver(dut, config)
    await driver.reset()
    result = await driver.gemm(job["x"], job["w"])
    np.savez(os.path.join(os.path.dirname(job_path), "result.npz"), y=result.y,
             cycles=result.cycles, utilization=result.utilization, jobs=result.jobs)
