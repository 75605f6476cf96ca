"""cocotb bench of the transaction-level harness (:mod:`cosim.harness`) around the top level:
every GEMM bit-exact against ``golden.int_gemm``; with sources always valid and the sink
always ready, cycles equal to the manifest's cycle model (``cosim.test_top.manifest_cycles``,
evaluated there from the manifest's text, and the documented row recurrence with several
result beats per row); with the wrapper's seeded idle and backpressure generators, exact
results, more cycles, and the same cycles again for the same seed; a stall reported with the
beats taken. The pytest side also checks :func:`cosim.run_gemm`'s simulator session and the
design index.

Run by ``pytest cosim/test_harness.py``; one Verilator build per configuration (the 4x3 one is
the build of ``cosim/test_run_gemm.py``).
"""

import uuid

import numpy as np
import pytest

import cocotb

import golden
from rtl.config import AccelConfig

from .bench import bench_config, bench_rng
from .harness_driver import HarnessDriver, HarnessError
from .test_top import job_sizes, manifest_cycles


# ---- cocotb side --------------------------------------------------------------------------

async def _driver(dut):
    driver = HarnessDriver(dut, AccelConfig(**bench_config()))
    await driver.reset()
    return driver


def _check(driver, label, x, w, result):
    expected = golden.int_gemm(x, w)
    if not np.array_equal(result.y, expected):
        bad = np.argwhere(result.y != expected)[0]
        raise AssertionError(f"{label}: Y{list(bad)} = {result.y[tuple(bad)]}, golden "
                             f"{expected[tuple(bad)]}")
    driver.dut._log.info("%s: M=%d K=%d N=%d exact, %d cycles", label, x.shape[0], x.shape[1],
                         w.shape[0], result.cycles)


def _model(cfg, m, k, n):
    return sum(manifest_cycles(cfg, rows, k, n) for rows in job_sizes(m, cfg.max_m))


SHAPES = [(1, 1, 1), (1, 7, 5), (2, 3, 9), (5, 16, 6), (9, 5, 13), (3, 130, 70), (40, 37, 21)]


@cocotb.test()
async def cycle_model(dut):
    """Assorted shapes (M = 1, ragged K and N, M over several jobs), one after another in
    the same simulation: exact results, the model's cycles, one job per ``max_m`` rows."""
    driver = await _driver(dut)
    cfg = driver.config
    rng, _ = bench_rng(dut, "harness cycle_model")
    for m, k, n in SHAPES:
        x = rng.integers(-128, 128, size=(m, k))
        w = rng.integers(-1, 2, size=(n, k))
        result = await driver.gemm(x, w)
        _check(driver, f"shape {(m, k, n)}", x, w, result)
        assert result.cycles == _model(cfg, m, k, n), \
            f"{(m, k, n)}: {result.cycles} cycles, the manifest's model {_model(cfg, m, k, n)}"
        assert result.jobs == len(job_sizes(m, cfg.max_m))


@cocotb.test()
@cocotb.parametrize(idle=[0.0, 0.5], stall=[0.0, 0.6])
async def generators(dut, idle, stall):
    """The wrapper's idle (weights, activations) and backpressure (results) generators:
    results exact; with either one the job takes more cycles than the model; the same seed
    gives the same cycles."""
    driver = await _driver(dut)
    cfg = driver.config
    rng, py_rng = bench_rng(dut, f"harness generators idle={idle} stall={stall}")
    m, k, n = 2 * cfg.result_queue_depth, 3 * cfg.rows + 1, 2 * cfg.cols + 1
    x = rng.integers(-128, 128, size=(m, k))
    w = rng.integers(-1, 2, size=(n, k))
    seed = py_rng.randrange(1 << 32)
    rates = dict(weight_rate=1 - idle, activation_rate=1 - idle, result_rate=1 - stall)
    result = await driver.gemm(x, w, seed=seed, **rates)
    _check(driver, f"idle={idle} stall={stall} seed={seed}", x, w, result)
    model = _model(cfg, m, k, n)
    if idle or stall:
        assert result.cycles > model, f"{result.cycles} cycles, no more than the model {model}"
        again = await driver.gemm(x, w, seed=seed, **rates)
        assert again.cycles == result.cycles and np.array_equal(again.y, result.y)
    else:
        assert result.cycles == model


@cocotb.test()
async def stall_reported(dut):
    """A sink that is never ready: the run stops at its cycle limit and names the beats
    taken (the job's one tile of weights, ``ceil(rows / rows_per_beat)`` beats, and one
    activation beat, no result)."""
    driver = await _driver(dut)
    x = np.ones((1, 1), dtype=np.int64)
    try:
        await driver.gemm(x, x, result_rate=0.0, max_cycles=200)
    except HarnessError as error:
        message = str(error)
    else:
        raise AssertionError("a sink that is never ready did not stall the harness")
    expected = (f"the harness did not finish within 200 cycles: 0 jobs done, "
                f"{driver.config.weight_beats(1, 1)} weight, 1 activation and 0 result beats "
                f"taken")
    assert message == expected, message


# ---- pytest side --------------------------------------------------------------------------

CONFIGS = {
    "4x3-i2": AccelConfig(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000),
    "4x6-i2-r4": AccelConfig(rows=4, cols=6, result_lanes=4, max_m=24, max_k=1000, max_n=1000),
    "8x8-t5-w64": AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=64,
                              max_m=40, max_k=1000, max_n=1000),
}


def _build(config):
    from .design_cache import cached_simulator
    from .harness import BUILD_ARGS, harness_design
    return cached_simulator("harness", config, harness_design, extra_args=BUILD_ARGS)


@pytest.mark.parametrize("label", list(CONFIGS))
def test_harness(label):
    from .runner import SimulatorJob
    config = CONFIGS[label]
    build = _build(config)
    with SimulatorJob(build, "bench", folder=build.folder / f"run-{label}") as job:
        job.run("cosim.test_harness", config=config.as_dict(), log_to_file=False)


def test_session_is_kept_and_survives_a_stall():
    """run_gemm keeps one simulator per build: a second call runs in the same session. A job
    that stalls stops that simulator with an error naming the kept log; the next call starts
    a new session and is exact again."""
    from cosim import run_gemm
    from .harness import COMMAND_FILE, COMMAND_RECORD, write_stimulus
    from .runner import SimulationError
    from .session import session_for
    config = CONFIGS["4x3-i2"]
    options = dict(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)
    rng = np.random.default_rng(13)
    x = rng.integers(-128, 128, size=(5, 9))
    w = rng.integers(-1, 2, size=(4, 9))
    first = run_gemm(x, w, **options)
    session = session_for(_build(config))
    second = run_gemm(x, w, **options)
    assert session_for(_build(config)) is session and session.alive
    # T = 3 * 2 tiles: the first tile's 4 weight beats, 5 tiles of M = 5 rows, then M +
    # latency (rows + 5).
    assert first.cycles == second.cycles == 4 + (3 * 2 - 1) * 5 + 5 + 9
    assert np.array_equal(second.y, golden.int_gemm(x, w))
    with session.lock:
        job = write_stimulus(session.folder, config, x, w)
        layout = job.layouts[0]     # a command that waits for one result beat too many
        (session.folder / COMMAND_FILE).write_bytes(COMMAND_RECORD.pack(
            5, 9, 4, layout.weight_beats, layout.activation_beats, layout.result_beats + 1))
        with pytest.raises(SimulationError, match=r"HarnessError: the harness did not finish "
                           r"within 300 cycles: 0 jobs done, 24 weight, 30 activation and 10 "
                           r"result beats taken; log: .*gemm-failed\.log"):
            session.run(300)
    assert not session.alive
    third = run_gemm(x, w, **options)
    assert session_for(_build(config)) is not session
    assert third.cycles == first.cycles and np.array_equal(third.y, first.y)


def test_design_index_skips_generation(monkeypatch):
    """A built design is found without generating its Verilog; another sources digest (an
    edited generator) generates again and, the Verilog being the same, reuses the build."""
    from . import design_cache
    from .harness import BUILD_ARGS, harness_design
    config = CONFIGS["4x3-i2"]
    built = _build(config)

    def refuse(_):
        raise AssertionError("the design was generated again")

    found = design_cache.cached_simulator("harness", config, refuse, extra_args=BUILD_ARGS)
    assert found.folder == built.folder and found.reused
    calls = []

    def generate(cfg):
        calls.append(cfg)
        return harness_design(cfg)

    edited = f"an edited generator {uuid.uuid4()}"     # a digest no index entry has
    monkeypatch.setattr(design_cache, "sources_digest", lambda: edited)
    index = built.folder.parent / "index"
    entries = set(index.iterdir())
    again = design_cache.cached_simulator("harness", config, generate, extra_args=BUILD_ARGS)
    assert calls == [config] and again.folder == built.folder and again.reused
    for entry in set(index.iterdir()) - entries:      # the entry of the made-up digest
        entry.unlink()


@pytest.mark.parametrize("config", [*CONFIGS.values(),
                                    AccelConfig(rows=3, cols=7, weight_format="t5"),
                                    AccelConfig(rows=2, cols=3, pe="int8")],
                         ids=lambda c: f"{c.rows}x{c.cols}-{c.format.name}")
def test_lint_clean(config, tmp_path):
    """The wrapper with the design passes ``verilator --lint-only -Wall`` with the waivers of
    the design alone (``cosim/test_lint.py``): the wrapper adds no warning."""
    import subprocess
    from .build import verilator_environment
    from .harness import BUILD_ARGS, harness_design
    from .test_lint import WAIVED, WAIVER_FILE
    verilator_environment()
    verilog, toplevel = harness_design(config)
    path = tmp_path / f"{toplevel}.v"
    path.write_text(verilog)
    result = subprocess.run(["verilator", "--lint-only", "-Wall", *BUILD_ARGS,
                             *(f"-Wno-{name}" for name in WAIVED), str(WAIVER_FILE),
                             "--top-module", toplevel, str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
