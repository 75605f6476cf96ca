"""The co-simulation harness without a simulator: its Verilog wrapper (deterministic, every
port of the top level connected at its width), its argument checks, the files it reads
(commands, weight and activation beats, written out here by hand from the documented
formats) and the result file it writes, and the design index's key."""

import shutil
import struct

import numpy as np
import pytest

from cosim import design_cache
from cosim.harness import (COMMAND_FILE, WEIGHT_FILE, ACTIVATION_FILE, RESULT_FILE,
                           harness_name, harness_verilog, rate_value, read_results,
                           seed_value, write_stimulus)
from gen.emit import top_ports
from rtl.config import AccelConfig

ROOT = design_cache.ROOT
SMALL = AccelConfig(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)


@pytest.mark.parametrize("config, weight, activation, result", [
    (SMALL, 6, 32, 96),
    (AccelConfig(rows=3, cols=7, weight_format="t5", max_m=6), 16, 24, 224),
    (AccelConfig(rows=4, cols=6, result_lanes=4, max_m=24), 12, 32, 128),
    (AccelConfig(rows=2, cols=2, pe="int8", act_bits=4, acc_bits=24, max_k=100), 16, 8, 48),
])
def test_wrapper_connects_every_port_at_its_width(config, weight, activation, result):
    text = harness_verilog(config)
    assert text == harness_verilog(config)
    assert f"module {harness_name(config)} (" in text and f"    {config.name} dut (" in text
    for port in top_ports(config):
        assert text.count(f".{port['name']}(") == 1, port
    pad = lambda bits: 8 * -(-bits // 8)    # whole bytes
    assert f".weights__payload(weight_word[{weight - 1}:0])" in text
    assert f"reg  [{pad(weight) - 1}:0] weight_word;" in text
    assert f".activations__payload(activation_word[{activation - 1}:0])" in text
    assert f"reg  [{pad(activation) - 1}:0] activation_word;" in text
    assert f"wire [{result - 1}:0] results_payload;" in text


def test_command_payload_fields():
    """m in bits 0.., then k, then n (rtl.command.command_layout), taken from the record's
    first three big-endian words: m_bits 5, k_bits 10, n_bits 10 for SMALL."""
    text = harness_verilog(SMALL)
    assert ".cmd__payload({command[105:96], command[137:128], command[164:160]})" in text


def test_arguments():
    with pytest.raises(TypeError, match=r"^config must be an AccelConfig, not 'x'$"):
        harness_verilog("x")
    assert [rate_value(p, "r") for p in (0, 0.5, 1, 1.0)] == [0, 32768, 65536, 65536]
    with pytest.raises(ValueError, match=r"^weight_rate must be a number from 0 to 1, not 1\.5$"):
        rate_value(1.5, "weight_rate")
    with pytest.raises(TypeError, match=r"^result_rate must be a number from 0 to 1, not True$"):
        rate_value(True, "result_rate")
    with pytest.raises(TypeError, match=r"^result_rate must be a number from 0 to 1, not '1'$"):
        rate_value("1", "result_rate")
    assert seed_value(0) == 0 and seed_value(2**32 - 1) == 2**32 - 1
    with pytest.raises(ValueError, match=r"^seed must be an integer from 0 to 4294967295, "
                       r"not 4294967296$"):
        seed_value(2**32)
    with pytest.raises(ValueError, match=r"^seed must be an integer from 0 to 4294967295, "
                       r"not -1$"):
        seed_value(-1)
    with pytest.raises(TypeError, match=r"^seed must be an integer from 0 to 4294967295, "
                       r"not 1\.0$"):
        seed_value(1.0)


def test_stimulus_files(tmp_path):
    """M = 40 over jobs of 16, 16, 8 rows; K = 37, N = 21 on 4x3: 10 x 7 = 70 tiles."""
    rng = np.random.default_rng(7)
    x = rng.integers(-128, 128, size=(40, 37))
    w = rng.integers(-1, 2, size=(21, 37))
    w[0:3, 0] = [1, -1, 0]
    (tmp_path / RESULT_FILE).write_text("stale\n")
    write_stimulus(tmp_path, SMALL, x, w)
    records = list(struct.iter_unpack(">6I", (tmp_path / COMMAND_FILE).read_bytes()))
    assert records == [(16, 37, 21, 280, 1120, 112), (16, 37, 21, 280, 1120, 112),
                       (8, 37, 21, 280, 560, 56)]
    weights = (tmp_path / WEIGHT_FILE).read_bytes()
    assert len(weights) == 3 * 280                          # 6-bit words in one byte each
    # word 0: W[0:3, 0] = +1, -1, 0 as i2 codes 2, 0, 1, lane n in bits [2n+1:2n]
    assert weights[0] == 2 | 0 << 2 | 1 << 4
    activations = (tmp_path / ACTIVATION_FILE).read_bytes()
    assert len(activations) == 4 * (1120 + 1120 + 560)        # 4 int8 lanes per beat
    # beat 0: X[0, 0:4], lane 0 in the least significant byte, written big-endian
    assert list(activations[:4]) == [int(v) & 0xFF for v in x[0, 3::-1]]
    # beat 1: row 1 of the first K tile
    assert list(activations[4:8]) == [int(v) & 0xFF for v in x[1, 3::-1]]
    assert not (tmp_path / RESULT_FILE).exists()


def test_result_file(tmp_path):
    """2x2 array, M = 1, N = 3: two result beats, lane 0 in the low 32 bits."""
    config = AccelConfig(rows=2, cols=2)
    job = write_stimulus(tmp_path, config, np.zeros((1, 3), dtype=np.int64),
                         np.zeros((3, 3), dtype=np.int64))
    (tmp_path / RESULT_FILE).write_text("fffffffe00000005\n0000000000000007\n")
    assert read_results(tmp_path, job).tolist() == [[5, -2, 7]]
    (tmp_path / RESULT_FILE).write_text("fffffffe00000005\n")
    with pytest.raises(RuntimeError, match=r"^the harness wrote 1 result beats, the job has 2$"):
        read_results(tmp_path, job)


def test_index_key_follows_everything_the_verilog_is_made_of():
    args = dict(sources="s", build_args=["-a"], versions={"amaranth": "0.5.10"})
    key = design_cache.index_key("harness", SMALL, **args)
    assert design_cache.index_key("harness", SMALL, **args) == key
    changed = [
        design_cache.index_key("top", SMALL, **args),
        design_cache.index_key("harness", AccelConfig(rows=4, cols=3), **args),
        design_cache.index_key("harness", SMALL, **{**args, "sources": "t"}),
        design_cache.index_key("harness", SMALL, **{**args, "build_args": ["-b"]}),
        design_cache.index_key("harness", SMALL, **{**args, "versions": {"amaranth": "0.6"}}),
    ]
    assert len({key, *changed}) == 1 + len(changed)


def test_sources_digest_follows_every_generator_source(tmp_path):
    for folder in design_cache.SOURCE_FOLDERS:
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for name in design_cache.SOURCE_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ROOT / name, tmp_path / name)
    digest = design_cache.sources_digest(tmp_path)
    assert digest == design_cache.sources_digest(ROOT)
    for name in ("rtl/pe.py", "gen/emit.py", "golden/formats.py", "cosim/harness.py"):
        path = tmp_path / name
        original = path.read_text()
        path.write_text(original + "\n# an edit\n")
        assert design_cache.sources_digest(tmp_path) != digest, name
        path.write_text(original)
    assert design_cache.sources_digest(tmp_path) == digest
