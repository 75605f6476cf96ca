"""GEMMs and the transformer through memory: ``run_gemm(..., interface="axi")`` and
``run_transformer(..., interface="axi")`` on the generated memory-mapped top
(``cosim.axi_driver.AxiDriver``). Results must be bit-identical to golden and to the stream
top, every job's ``CYCLES`` must equal the exact model (``rtl.axi.cycles``), and bad arguments
must be refused before any build."""

import pathlib

import numpy as np
import pytest

import golden
from cosim import run_gemm
from cosim.axi_bench import BENCH_LATENCY
from cosim.harness import job_sizes
from cosim.transformer import run_transformer
from rtl.axi.cycles import axi_job_cycles
from rtl.config import AccelConfig, ConfigError

SEED = 20261201
TRAINED = pathlib.Path(__file__).resolve().parent.parent / "models" / "sort-digits"


@pytest.mark.parametrize("fmt, m, k, n, max_m", [("i2", 3, 37, 21, 2), ("t5", 1, 64, 40, 8),
                                                 ("t5", 9, 20, 9, 8)])
def test_run_gemm_through_memory(fmt, m, k, n, max_m):
    rng = np.random.default_rng(SEED)
    print(f"seed {SEED}")
    x = rng.integers(-128, 128, size=(m, k))
    w = rng.integers(-1, 2, size=(n, k))
    options = dict(rows=8, cols=8, weight_format=fmt, max_m=max_m, max_k=256, max_n=256)
    result = run_gemm(x, w, interface="axi", **options)
    np.testing.assert_array_equal(result.y, golden.int_gemm(x, w))
    config = AccelConfig(interface="axi", **options)
    expected = sum(axi_job_cycles(config, rows, k, n, read_latency=BENCH_LATENCY)
                   for rows in job_sizes(m, max_m))
    assert result.cycles == expected and result.jobs == len(job_sizes(m, max_m))
    # the stream top with the same ports: the same numbers, fewer cycles (no memory latency)
    stream = run_gemm(x, w, weight_port_bits=config.word_bits,
                      result_lanes=config.result_beat_lanes, **options)
    np.testing.assert_array_equal(stream.y, result.y)
    assert stream.cycles + BENCH_LATENCY < result.cycles


def test_transformer_through_memory_is_bit_exact():
    model = golden.load_checkpoint(TRAINED)
    ids = model.tokenizer.encode("531962=")
    expected_ids, expected_logits = model.generate_with_logits(ids, 7)
    run = run_transformer(TRAINED, ids, 7, rows=16, cols=16, interface="axi")
    assert np.array_equal(run.new_ids, expected_ids)
    assert run.logits.dtype == np.float32 and np.array_equal(run.logits, expected_logits)
    assert model.tokenizer.decode(list(expected_ids)) == "123569\n"
    assert run.report["cycle_model_agrees"], run.report["cycle_model_mismatches"]


def test_refused_before_any_build():
    with pytest.raises(ConfigError) as caught:
        run_gemm(np.zeros((1, 2), int), np.zeros((2, 2), int), rows=2, cols=2, interface="axi")
    assert caught.value.field == "weight_port_bits"
    with pytest.raises(ValueError) as caught:
        run_gemm(np.zeros((1, 300), int), np.zeros((2, 300), int), rows=8, cols=8,
                 interface="axi", max_k=256)
    assert str(caught.value) == "K=300 exceeds the accelerator's max_k=256"
