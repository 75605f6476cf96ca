"""benchmarks/bitnet_2b_layer.py at a tiny scale, so that the script cannot rot: a scaled-down
layer of the same structure (hidden 16, 2 heads / 1 KV head, intermediate 24) on the 4x3
array of ``cosim/test_run_gemm.py`` (the Verilator build is shared with it), a prefill of 3
tokens and 2 decode tokens. The benchmark itself asserts every GEMM bit-exact against
``golden.int_gemm`` and cycle-exact against the cycle model; this test checks what it ran
against hand-written shapes and cycle counts, and the command line's one-line errors.
"""

import pytest

from benchmarks import bitnet_2b_layer as bench
import golden


ARRAY = dict(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)
TINY = {"vocab_size": 32, "hidden_size": 16, "intermediate_size": 24, "num_hidden_layers": 1,
        "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 16}


def _cycles(m, k, n):
    # The closed formula of AccelConfig.cycles written out for 4 rows, 3 columns, one row per
    # weight beat (k = 1, tiles spaced by at least 4): max(4 + (T-1)*max(M, 4), 4*T) + M + 4 + 5
    # with T = ceil(K/4) * ceil(N/3).
    tiles = -(-k // 4) * -(-n // 3)
    return max(4 + (tiles - 1) * max(m, 4), 4 * tiles) + m + 9


def test_layer_benchmark_runs_every_projection_of_each_phase():
    lines = []
    report = bench.run_layer(golden.BitNetConfig.from_dict(TINY), prefill=3, decode=2, seed=7,
                             out=lines.append, **ARRAY)
    shapes = [("q_proj", 16, 16), ("k_proj", 16, 8), ("v_proj", 16, 8), ("o_proj", 16, 16),
              ("gate_proj", 16, 24), ("up_proj", 16, 24), ("down_proj", 24, 16)]
    expected = [(phase, name, m, k, n)
                for phase, m in (("prefill", 3), ("decode 1", 1), ("decode 2", 1))
                for name, k, n in shapes]
    assert [g[:5] for g in report["gemms"]] == expected
    # q_proj of the prefill: T = 4 * 6 = 24 tiles, 4 * 24 + 3 + 9 = 108 cycles.
    assert report["gemms"][0][5] == 108
    assert [g[5] for g in report["gemms"]] == [_cycles(*g[2:5]) for g in report["gemms"]]
    assert report["total_s"] == pytest.approx(
        report["build_s"] + report["golden_s"] + report["simulation_s"], rel=1e-9)
    assert lines[0] == "4x3 array, prefill 3 tokens, 2 decode tokens"
    assert lines[-2] == (f"all 21 GEMMs bit-exact against golden.int_gemm, cycles equal to the "
                         f"model: {sum(_cycles(*g[2:5]) for g in report['gemms'])} cycles")


def test_layer_config_is_one_real_size_layer():
    config = bench.layer_config()
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers,
            config.num_attention_heads, config.num_key_value_heads, config.vocab_size) == \
        (2560, 6912, 1, 20, 5, 1024)


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0"], "--rows must be an integer from 1 to 256, not 0"),
    (["--weight-format", "t5", "--weight-port-bits", "8192"],
     "--weight-port-bits must be the width of a whole number of tile rows of 64 t5 weights, "
     "from 104 (one row) to 6560 (the whole tile of 64 rows), not 8192; powers of two among "
     "them: 512, 1024, 2048, 4096"),
    (["--weight-format", "i3"], "argument --weight-format: invalid choice: 'i3' (choose from "
                                "'i2', 't5')"),
    (["--decode", "x"], "argument --decode: expected an integer, not 'x'"),
    (["--prefill", "0"], "argument --prefill: expected an integer from 1 to 256, not '0'"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python benchmarks/bitnet_2b_layer.py: error: {message}\n"
