"""Shared pieces of the cocotb benches: the pytest-side launcher and the cocotb-side setup.

A bench file (``cosim/test_*.py``) holds its cocotb tests and a pytest function that builds the
design once (:func:`cosim.build.build_simulator`, cached by the Verilog's hash) and runs the
tests through :class:`cosim.runner.SimulatorJob`. The configuration reaches the cocotb process
as JSON in the environment; random tests take their seed from ``TERNARY_ACCEL_SEED`` (or
cocotb's own seed) and log it so that a failure can be replayed.
"""

import random

import numpy as np

from .build import build_simulator
from .runner import CONFIG_VARIABLE, SEED_VARIABLE, SimulatorJob, job_config


__all__ = ["CONFIG_VARIABLE", "SEED_VARIABLE", "run_bench", "bench_config", "bench_rng",
           "start_clock"]


def run_bench(*, kind, key, verilog, toplevel, module, config, test_filter=None, name=None):
    """Build (cached) and run the cocotb tests of ``module`` against ``toplevel``; fail the
    calling pytest test unless every cocotb test passed. ``key`` labels the build folder;
    returns the run folder (``<build>/run-<name>``), kept for inspection."""
    build = build_simulator(kind, verilog, toplevel, label=key)
    job = SimulatorJob(build, "bench", folder=build.folder / f"run-{name or 'all'}")
    with job:
        job.run(module, config=config, test_filter=test_filter, log_to_file=False)
    return job.folder


def bench_config():
    """The JSON configuration passed by :func:`run_bench` (inside the simulator process)."""
    return job_config()


def bench_rng(dut, label):
    """A seeded NumPy generator for one test; the seed is logged for replay."""
    import os
    import cocotb
    seed = int(os.environ.get(SEED_VARIABLE, cocotb.RANDOM_SEED % (1 << 32)))
    dut._log.info("%s: seed %d (replay with %s=%d)", label, seed, SEED_VARIABLE, seed)
    return np.random.default_rng([seed, sum(map(ord, label))]), random.Random(f"{seed}-{label}")


def start_clock(dut):
    import cocotb
    from cocotb.clock import Clock
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
