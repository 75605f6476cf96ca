"""benchmarks/bitnet_2b_model.py at a tiny scale, so that the script cannot rot: a 2-layer model
of the same structure (hidden 16, 2 heads / 1 KV head, intermediate 24, vocabulary 32) written
by golden.synthetic's writer, on the 4x3 array of ``cosim/test_run_gemm.py`` (the Verilator
build is shared with it), a prompt of 3 tokens and 2 new tokens (a prefill pass and a decode
pass). The benchmark itself asserts the ids and logits bit-identical to golden's and the cycles
equal to the cycle model; this test checks its figures against hand-written cycle counts, that
a logit differing only in its bits stops it, and the command line's one-line errors.
"""

import numpy as np
import pytest

from benchmarks import bitnet_2b_model as bench
import golden
from golden.synthetic import BITNET_2B_4T_CONFIG, write_checkpoint


ARRAY = dict(rows=4, cols=3, max_m=16, max_k=1000, max_n=1000)
TINY = {**BITNET_2B_4T_CONFIG, "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
        "max_position_embeddings": 16}
# [K, N] of the seven projections of one tiny layer, in execution order.
SHAPES = [(16, 16), (16, 8), (16, 8), (16, 16), (16, 24), (16, 24), (24, 16)]


def _cycles(m, k, n):
    # The closed formula of AccelConfig.cycles written out for 4 rows, 3 columns, one row per
    # weight beat (tiles spaced by at least 4): max(4 + (T-1)*max(M, 4), 4*T) + M + 4 + 5
    # with T = ceil(K/4) * ceil(N/3).
    tiles = -(-k // 4) * -(-n // 3)
    return max(4 + (tiles - 1) * max(m, 4), 4 * tiles) + m + 9


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny") / "checkpoint"
    write_checkpoint(folder, golden.BitNetConfig.from_dict(TINY), seed=3)
    return folder


def test_model_benchmark_runs_both_passes_on_the_array(checkpoint):
    lines = []
    result = bench.run_model(checkpoint, [1, 5, 7], 2, out=lines.append, **ARRAY)
    prefill = 2 * sum(_cycles(3, k, n) for k, n in SHAPES)
    decode = 2 * sum(_cycles(1, k, n) for k, n in SHAPES)
    # q_proj of the prefill: T = 4 * 6 = 24 tiles, 4 * 24 + 3 + 9 = 108 cycles.
    assert _cycles(3, 16, 16) == 108
    assert result["cycles"] == result["model_cycles"] == {"prefill": prefill, "decode": decode}
    assert result["per_decode_token"] == decode
    assert result["gemms"] == 28
    # this process alone holds more than the 10 MB that the sampler must at least have seen
    assert result["peak_bytes"] > 10e6
    assert lines[0] == ("2-layer model (hidden 16, vocabulary 32) on a 4x3 i2 array, weight "
                        "port 6 bits (1 tile rows per beat): prompt of 3 tokens, 2 new tokens")
    assert lines[4].split()[:4] == ["total", "28", str(prefill + decode),
                                    str(prefill + decode)]


def test_a_logit_differing_in_its_bits_alone_is_caught(checkpoint, monkeypatch):
    real = bench.run_transformer

    def flipped(*args, **kwargs):
        run = real(*args, **kwargs)
        logits = run.logits.copy()
        logits[0, 0] = np.nextafter(logits[0, 0], np.float32(np.inf))
        return type(run)(new_ids=run.new_ids, logits=logits, report=run.report,
                         records=run.records)

    monkeypatch.setattr(bench, "run_transformer", flipped)
    with pytest.raises(AssertionError, match="^the array's logits differ from golden's$"):
        bench.run_model(checkpoint, [1, 5, 7], 2, out=lambda line: None, **ARRAY)


def test_model_config_is_the_real_size():
    config = bench.model_config()
    assert (config.hidden_size, config.intermediate_size, config.num_hidden_layers,
            config.num_attention_heads, config.num_key_value_heads, config.vocab_size) == \
        (2560, 6912, 30, 20, 5, 128256)


@pytest.mark.parametrize("argv, message", [
    (["--rows", "0"], "--rows must be an integer from 1 to 256, not 0"),
    (["--weight-port-bits", "1000"],
     "--weight-port-bits must be the width of a whole number of tile rows of 64 t5 weights, "
     "from 104 (one row) to 6560 (the whole tile of 64 rows), not 1000; powers of two among "
     "them: 512, 1024, 2048, 4096"),
    (["--weight-format", "i3"], "argument --weight-format: invalid choice: 'i3' (choose from "
                                "'i2', 't5')"),
    (["--layers", "31"], "argument --layers: expected an integer from 1 to 30, not '31'"),
    (["--prompt", "x"], "argument --prompt: expected an integer, not 'x'"),
    (["--new-tokens", "0"], "argument --new-tokens: expected an integer from 1 to 16, not '0'"),
    (["--checkpoint", "/nonexistent/folder"],
     "--checkpoint '/nonexistent/folder': no config.json in that folder"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"python benchmarks/bitnet_2b_model.py: error: {message}\n"
