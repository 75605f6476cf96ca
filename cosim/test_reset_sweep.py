"""cocotb bench of the accelerator top level: a one-cycle reset at every cycle of a job, each
followed by a clean job checked bit-exactly against ``golden`` and against the manifest's cycle
model.

For every cycle ``c`` from the command's acceptance to the cycle after the reference job's
last result beat, the bench starts the reference job (sources always valid, sink always ready),
drives it for ``c`` cycles (:meth:`cosim.driver.AccelDriver.run_job` with ``stop_after=c``),
holds ``rst`` for one cycle with every input idle, checks that ``busy``, ``done``,
``cmd_error`` and ``results.valid`` are low and ``cmd.ready`` high, and then runs a clean job
of other operands whose result must equal ``golden.int_gemm`` and whose cycle count must equal
the manifest's formula (:func:`cosim.test_top.manifest_cycles`). So no state a reset can
interrupt (a half-loaded weight buffer, a claimed result slot, a skewed array, a result
waiting on the serializer) survives into the next job.

Run by ``pytest cosim/test_reset_sweep.py``; it shares the builds of ``cosim/test_top.py``
(same Verilog, same build arguments): 4x3 and 4x6 with two result beats per row.
"""

import numpy as np
import pytest

import cocotb
from cocotb.triggers import ReadOnly, RisingEdge

import golden
from rtl.config import AccelConfig

from .bench import bench_config, bench_rng, run_bench, start_clock
from .driver import AccelDriver
from .test_top import CONFIGS, manifest_cycles


#: The configurations of the sweep, designs of ``cosim/test_top.py`` (their builds are shared):
#: 4x3 ``i2`` (one result beat per row) and 4x6 ``i2`` with four result lanes (two beats per
#: row, through the result serializer).
SWEEP_LABELS = ("4x3-i2", "4x6-i2-r4", "5x4-i2-w24-r3")


def sweep_shape(cfg):
    """The reference job: two K tiles (the second ragged), two N tiles, ``2 * rows`` rows of
    activations (65 cycles on 4x3)."""
    return min(cfg.max_m, 2 * cfg.rows), 2 * cfg.rows + 1, 2 * cfg.cols


async def _idle_after_reset(dut, c):
    await ReadOnly()
    state = {name: int(getattr(dut, name).value)
             for name in ("busy", "done", "cmd_error", "results__valid", "cmd__ready")}
    expected = {"busy": 0, "done": 0, "cmd_error": 0, "results__valid": 0, "cmd__ready": 1}
    assert state == expected, f"reset at cycle {c}: outputs {state}, expected {expected}"
    await RisingEdge(dut.clk)


@cocotb.test()
async def reset_at_every_cycle(dut):
    """A one-cycle reset at every cycle of the reference job, then a clean job: exact, and
    in the manifest's cycles."""
    cfg = AccelConfig(**bench_config())
    start_clock(dut)
    driver = AccelDriver(dut, cfg)
    await driver.reset()
    np_rng, _ = bench_rng(dut, "reset_at_every_cycle")
    m, k, n = sweep_shape(cfg)
    x = np_rng.integers(-128, 128, size=(m, k))
    w = np_rng.integers(-1, 2, size=(n, k))
    clean_x = np_rng.integers(-128, 128, size=(m, k))
    clean_w = np_rng.integers(-1, 2, size=(n, k))
    expected = golden.int_gemm(clean_x, clean_w)
    expected_cycles = manifest_cycles(cfg, m, k, n)
    # Cycle c counts from the command's acceptance (c = 0: rst in the very next cycle, before
    # any beat is offered); the sweep ends with a reset in the cycle after the job's last
    # result beat (``done`` pulses then), the first c at which the job has completed.
    c = 0
    while True:
        if c == 0:
            await driver.start_job(m, k, n)
            y = None
        else:
            y, ran = await driver.run_job(x, w, stop_after=c)
            assert y is not None or ran == c, f"stop_after={c}: the job ran {ran} cycles"
        await driver.reset(cycles=1)
        await _idle_after_reset(dut, c)
        got, cycles = await driver.run_job(clean_x, clean_w)
        if not np.array_equal(got, expected):
            bad = np.argwhere(got != expected)[0]
            raise AssertionError(f"reset at cycle {c}: Y{list(bad)} = {got[tuple(bad)]}, "
                                 f"golden {expected[tuple(bad)]}")
        assert cycles == expected_cycles, \
            f"reset at cycle {c}: the clean job took {cycles} cycles, the model {expected_cycles}"
        if y is not None:        # the job had completed: the sweep has covered all of it
            assert np.array_equal(y, golden.int_gemm(x, w)), "the reference job is wrong"
            break
        c += 1
    assert c >= expected_cycles, f"the job completed within {c} cycles"
    dut._log.info("reset at each of cycles 0..%d of a job of M=%d K=%d N=%d (%d cycles by the "
                  "model): every clean job exact in %d cycles", c, m, k, n, expected_cycles,
                  expected_cycles)

# ---- pytest side --------------------------------------------------------------------------

@pytest.mark.parametrize("label", SWEEP_LABELS)
def test_reset_sweep(label):
    from gen.emit import emit_verilog
    config, _ = CONFIGS[label]
    run_bench(kind="top", key=config.digest, verilog=emit_verilog(config), toplevel=config.name,
              module="cosim.test_reset_sweep", config=config.as_dict(), name=f"reset-sweep-{label}")
