"""Shared pieces of the cocotb benches: the pytest-side launcher and the cocotb-side setup.

A bench file (``cosim/test_*.py``) holds its cocotb tests and a pytest function that builds the
design once per configuration (:func:`cosim.build.build_design`) and runs the tests through
``cocotb_tools.runner``. The configuration reaches the cocotb process as JSON in the
environment; random tests take their seed from ``TERNARY_ACCEL_SEED`` (or cocotb's own seed)
and log it so that a failure can be replayed.
"""

import json
import os
import random

import numpy as np

from .build import build_design, verilator_environment, waves_requested


__all__ = ["CONFIG_VARIABLE", "SEED_VARIABLE", "run_bench", "bench_config", "bench_rng",
           "start_clock"]

CONFIG_VARIABLE = "TERNARY_ACCEL_BENCH_CONFIG"
SEED_VARIABLE = "TERNARY_ACCEL_SEED"


def run_bench(*, kind, key, verilog, toplevel, module, config, test_filter=None, name=None):
    """Build (cached) and run the cocotb tests of ``module`` against ``toplevel``; fail the
    calling pytest test unless every cocotb test passed."""
    from cocotb_tools.runner import get_results
    from .build import TopPortsVerilator

    verilator_environment()
    folder = build_design(kind, key, verilog, toplevel)
    test_dir = folder / f"run-{name or 'all'}"
    test_dir.mkdir(exist_ok=True)
    env = {CONFIG_VARIABLE: json.dumps(config)}
    if SEED_VARIABLE in os.environ:
        env[SEED_VARIABLE] = os.environ[SEED_VARIABLE]
    runner = TopPortsVerilator()
    results = runner.test(test_module=module, hdl_toplevel=toplevel, hdl_toplevel_lang="verilog",
                          build_dir=folder,
                          test_dir=test_dir, extra_env=env, test_filter=test_filter,
                          waves=waves_requested(), results_xml=str(test_dir / "results.xml"))
    total, failed = get_results(results)
    assert total > 0, f"no cocotb test of {module} matched {test_filter!r}"
    assert failed == 0, f"{failed} of {total} cocotb tests failed; see {test_dir}"
    return test_dir


def bench_config():
    """The JSON configuration passed by :func:`run_bench` (inside the simulator process)."""
    return json.loads(os.environ[CONFIG_VARIABLE])


def bench_rng(dut, label):
    """A seeded NumPy generator for one test; the seed is logged for replay."""
    import cocotb
    seed = int(os.environ.get(SEED_VARIABLE, cocotb.RANDOM_SEED % (1 << 32)))
    dut._log.info("%s: seed %d (replay with %s=%d)", label, seed, SEED_VARIABLE, seed)
    return np.random.default_rng([seed, sum(map(ord, label))]), random.Random(f"{seed}-{label}")


def start_clock(dut):
    import cocotb
    from cocotb.clock import Clock
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
