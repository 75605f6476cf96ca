"""The int8 baseline (``--pe int8``): configuration, generated Verilog, and the whole
accelerator computing int8 x int8 GEMMs in Amaranth's simulator, checked against NumPy.

The baseline only exists to be synthesized beside the ternary design, but a baseline that
computed something else would make the comparison meaningless, so it is checked like the real
design: against a plain ``X @ W.T``, with idle sources and a stalled sink.
"""

import json
import math
import subprocess

import numpy as np
import pytest

from cosim.build import verilator_environment
from cosim.test_lint import WAIVED, WAIVER_FILE
from gen.emit import emit_pe_verilog, emit_verilog, generate
from rtl.config import AccelConfig, ConfigError, psum_width

from amaranth_job import simulate_job


def _int8_weight_words(cfg, w):
    """``W[N, K]`` int8 -> weight beats in job order (N tiles, K tiles, array rows), lane ``c``
    of word ``r`` = ``W[n0 + c, k0 + r]`` as a byte, lane 0 in the low byte. Written from
    ``docs/interface.md``'s beat order, independently of the RTL."""
    n, k = w.shape
    k_tiles, n_tiles = math.ceil(k / cfg.rows), math.ceil(n / cfg.cols)
    words = []
    for nt in range(n_tiles):
        for kt in range(k_tiles):
            for r in range(cfg.rows):
                word = 0
                for c in range(cfg.cols):
                    nn, kk = nt * cfg.cols + c, kt * cfg.rows + r
                    value = int(w[nn, kk]) if nn < n and kk < k else 0
                    word |= (value & 0xFF) << (8 * c)
                words.append(word)
    return words


def _simulate(cfg, x, w, **traffic):
    return simulate_job(cfg, x, w.shape[0], _int8_weight_words(cfg, w), **traffic)[0]


def test_int8_configuration():
    cfg = AccelConfig(rows=4, cols=3, pe="int8")
    assert cfg.format.name == "int8" and cfg.weight_bits == 8
    assert cfg.word_bits == 24
    # -128 * -128 = 16384 needs 16 signed bits; four of them 18.
    assert [cfg.psum_bits(k) for k in range(4)] == [16, 17, 17, 18]
    assert psum_width(1, 8, 8) == 16 and psum_width(64, 8, 8) == 22
    # The default 32-bit accumulator still covers K up to 65535: 65535 * 2**14 < 2**31.
    assert cfg.acc_bits_needed == 31
    assert AccelConfig().pe == "ternary" and AccelConfig().format.name == "i2"
    assert AccelConfig(pe="int8").digest != AccelConfig().digest


@pytest.mark.parametrize("kwargs, message", [
    ({"pe": "int4"}, r"^pe must be 'ternary' or 'int8', not 'int4'$"),
    ({"pe": "int8", "weight_format": "i2"},
     r"^weight_format must be 'int8' with pe='int8', not 'i2'$"),
    ({"weight_format": "int8"}, r"^weight_format must be 'i2' or 't5', not 'int8'$"),
    ({"pe": "int8", "acc_bits": 24},
     r"^acc_bits must be at least 31 so that no result overflows"),
])
def test_int8_configuration_errors(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        AccelConfig(**kwargs)


def test_int8_verilog_has_multiply_accumulate_pes():
    cfg = AccelConfig(rows=3, cols=2, pe="int8")
    verilog = emit_verilog(cfg)
    assert "int8 multiply-accumulate baseline" in verilog.splitlines()[0]
    assert verilog.count("module ternary_accel_mac_") == 3
    assert "module ternary_accel_pe_" not in verilog
    assert " * " in emit_pe_verilog(cfg)
    files = generate(cfg)
    assert sorted(files) == ["manifest.json", "ternary_accel.f", "ternary_accel.v"]
    manifest = json.loads(files["manifest.json"])
    assert manifest["parameters"]["pe"] == "int8"
    assert manifest["weight_format"]["name"] == "int8"
    assert manifest["weight_format"]["word_bits"] == 16


@pytest.mark.parametrize("rows, cols, m, k, n", [(3, 2, 4, 7, 5), (1, 1, 1, 1, 1),
                                                 (2, 3, 3, 4, 6)])
def test_int8_gemm_matches_numpy(rows, cols, m, k, n):
    rng = np.random.default_rng(21)
    cfg = AccelConfig(rows=rows, cols=cols, pe="int8")
    x = rng.integers(-128, 128, size=(m, k))
    w = rng.integers(-128, 128, size=(n, k))
    # Extremes: -128 * -128 in the first product.
    x[0, 0] = w[0, 0] = -128
    assert np.array_equal(_simulate(cfg, x, w), x @ w.T)


def test_int8_gemm_with_idle_sources_and_stalled_sink():
    rng = np.random.default_rng(22)
    cfg = AccelConfig(rows=3, cols=3, pe="int8")
    x = rng.integers(-128, 128, size=(5, 8))
    w = rng.integers(-128, 128, size=(4, 8))
    assert np.array_equal(_simulate(cfg, x, w, idle=0.3, stall=0.3, seed=3), x @ w.T)


def test_int8_verilog_is_lint_clean(tmp_path):
    # The same check and waivers as cosim/test_lint.py (docs/lint.md): three whole classes and
    # the yosys width idioms by message pattern; width warnings on ports stay live.
    verilator_environment()
    cfg = AccelConfig(rows=4, cols=3, pe="int8")
    path = tmp_path / "int8.v"
    path.write_text(emit_verilog(cfg))
    result = subprocess.run(["verilator", "--lint-only", "-Wall",
                             *(f"-Wno-{name}" for name in WAIVED), str(WAIVER_FILE),
                             "--top-module", cfg.name, str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0 and "%Warning" not in result.stderr, result.stderr
