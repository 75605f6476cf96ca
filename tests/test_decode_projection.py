"""benchmarks/decode_projection.py: its figures against hand calculations and the closed cycle
formula of the wide weight path typed from the docs (not the model's tile recurrence), and its
command line's one-line errors. No simulation, no timing."""

import importlib.util
import math
import pathlib

import pytest

import golden
from rtl.config import AccelConfig

PATH = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "decode_projection.py"
SPEC = importlib.util.spec_from_file_location("decode_projection", PATH)
bench = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bench)

PROG = "python benchmarks/decode_projection.py"

#: A layer of 2B-4T's structure at a tiny size: q, o 16x16; k, v 8x16; gate, up 24x16;
#: down 16x24 (N x K).
TINY = golden.BitNetConfig(vocab_size=32, hidden_size=16, intermediate_size=24,
                           num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1)


def closed_cycles(rows, cols, per_beat, m, k, n):
    """The closed formula of docs/interface.md and rtl/config.py's docstring, default store:
    max(ceil(rows/k) + (T-1)*max(M, S), ceil(T*rows/k)) + M + rows + 5, with S = 1 when
    floor(rows/k) < 4, else 4."""
    tiles = math.ceil(k / rows) * math.ceil(n / cols)
    spacing = 1 if rows // per_beat < 4 else 4
    return (max(math.ceil(rows / per_beat) + (tiles - 1) * max(m, spacing),
                math.ceil(tiles * rows / per_beat)) + m + rows + 5)


def test_the_2b_layer_is_golden_s():
    assert bench.layer_projections() == [
        ("q_proj", 2560, 2560), ("k_proj", 2560, 640), ("v_proj", 2560, 640),
        ("o_proj", 2560, 2560), ("gate_proj", 2560, 6912), ("up_proj", 2560, 6912),
        ("down_proj", 6912, 2560)]
    assert bench.fused(bench.layer_projections()) == [
        ("qkv", 2560, 3840), ("o_proj", 2560, 2560), ("gate_up", 2560, 13824),
        ("down_proj", 6912, 2560)]


def test_traffic_by_hand():
    # 128256 x 2560 bf16 values; 2 (K, V) x 30 layers x 5 KV heads x 128 x 2 bytes a position
    assert bench.traffic_bytes() == (656_670_720, 0)
    assert bench.traffic_bytes(context=1024) == (656_670_720, 78_643_200)
    assert bench.traffic_bytes(context=4096, head_bytes=1) == (328_335_360, 314_572_800)


@pytest.mark.parametrize("rows, cols, fmt, width, per_beat", [
    (8, 8, "i2", None, 1), (8, 8, "i2", 64, 4), (8, 8, "i2", 128, 8),
    (8, 8, "t5", None, 1), (8, 8, "t5", 40, 3), (8, 8, "t5", 104, 8),
    (4, 3, "i2", 18, 3), (4, 3, "t5", 24, 4), (16, 16, "t5", 256, 10)])
@pytest.mark.parametrize("k, n", [(64, 64), (41, 23), (128, 40)])
def test_gemv_against_the_closed_formula(rows, cols, fmt, width, per_beat, k, n):
    accel = AccelConfig(rows=rows, cols=cols, weight_format=fmt, weight_port_bits=width)
    cycles, roofline, fixed = bench.gemv_row(accel, k, n)
    assert cycles == closed_cycles(rows, cols, per_beat, 1, k, n)
    assert fixed == 1 + rows + 5
    bits = {"i2": 2, "t5": 1.6}[fmt]
    assert roofline == pytest.approx(n * k * bits / accel.word_bits)
    if k % rows == 0 and n % cols == 0 and accel.beat_bits_per_weight == bits:
        # the goal, where a beat packs at the format's ideal bits per weight: at
        # most 1.05 x the roofline plus the fixed fill and drain
        assert cycles <= 1.05 * roofline + fixed


def test_gemv_hand_values():
    # 8x8 t5, W = 40 bits (3 rows of 8 weights = 24 -> 5 bytes): 64 tiles of 8 rows are
    # ceil(512 / 3) = 171 beats; floor(8 / 3) < 4 rows so tiles may follow every cycle;
    # 171 + M + rows + 5 = 185.
    accel = AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=40)
    assert bench.gemv_row(accel, 64, 64) == (185, pytest.approx(64 * 64 * 1.6 / 40), 14)
    # 64x64 i2 at 512 bits (4 rows a beat), q_proj: 1600 tiles x 16 beats + 70.
    accel = AccelConfig(rows=64, cols=64, weight_port_bits=512)
    assert bench.gemv_row(accel, 2560, 2560) == (25_670, 25_600.0, 70)


def test_engine_columns():
    assert bench.engine_columns(640, 64, 4) == [192, 192, 128, 128]
    assert bench.engine_columns(100, 64, 4) == [64, 36]
    assert bench.engine_columns(2560, 64, 1) == [2560]
    with pytest.raises(ValueError, match=r"^16384 bits do not split evenly over 3 engines$"):
        bench.engine_widths(bench.MEMORIES["hbm2"], 3)


def test_decode_token_small_case():
    memory = bench.Memory("test", "16 bit at 100 MHz", 16, 100.0, "a test", ((1, 4, 4),))
    projections = bench.layer_projections(TINY)
    assert projections == [("q_proj", 16, 16), ("k_proj", 16, 8), ("v_proj", 16, 8),
                           ("o_proj", 16, 16), ("gate_proj", 16, 24), ("up_proj", 16, 24),
                           ("down_proj", 24, 16)]
    # 4x4 i2 at 16 bits = 2 rows a beat: a job of T tiles takes 2T + 1 + 4 + 5 cycles.
    # q, o: 16 tiles -> 42; k, v: 8 -> 26; gate, up, down: 24 -> 58. 310 a layer, 2 layers.
    token = bench.decode_token(memory, 1, 4, 4, "i2", projections, 2)
    assert token["cycles"] == 620
    assert token["weights"] == 2 * (2 * 256 + 2 * 128 + 3 * 384)
    assert token["utilization"] == pytest.approx(3840 * 2 / (620 * 16))
    assert token["tokens_per_s"] == pytest.approx(100e6 / 620)
    assert token["fixed"] == 2 * 7 * 10
    # Two engines of 16 bits each split N by tile columns: q, o 8 columns each (8 tiles,
    # 26); k, v 4 (4 tiles, 18); gate, up 12 (12 tiles, 34); down 8 of K = 24 (12 tiles, 34).
    wide = bench.Memory("test", "32 bit at 100 MHz", 32, 100.0, "a test", ((2, 4, 4),))
    token = bench.decode_token(wide, 2, 4, 4, "i2", projections, 2)
    assert token["cycles"] == 2 * (26 + 18 + 18 + 26 + 3 * 34)
    assert token["utilization"] == pytest.approx(3840 * 2 / (380 * 32))


def test_kv260_projection_by_hand():
    # q, o: 1600 tiles x 16 beats + 70 = 25,670; k, v: 400 x 16 + 70 = 6,470; gate, up, down:
    # 4320 x 16 + 70 = 69,190; a layer 271,850, 30 layers 8,155,500 cycles.
    memory, (engines, rows, cols) = bench.MEMORIES["kv260"], bench.MEMORIES["kv260"].setups[0]
    token = bench.decode_token(memory, engines, rows, cols, "i2", bench.layer_projections(), 30)
    assert token["cycles"] == 8_155_500
    assert token["weights"] == 2_084_044_800
    assert token["utilization"] == pytest.approx(2_084_044_800 * 2 / (8_155_500 * 512))
    assert token["tokens_per_s"] == pytest.approx(250e6 / 8_155_500)


def test_every_projection_uses_at_most_the_port():
    projections = bench.layer_projections()
    for memory in bench.MEMORIES.values():
        assert memory.bytes_per_s > 0
        for engines, rows, cols in memory.setups:
            for fmt in ("i2", "t5"):
                for layer in (projections, bench.fused(projections)):
                    token = bench.decode_token(memory, engines, rows, cols, fmt, layer, 30)
                    assert 0 < token["utilization"] <= 1
                    assert token["cycles"] >= token["roofline"] + token["fixed"]


def test_layer_utilization_against_the_closed_formula():
    projections = bench.layer_projections(TINY)
    for width, per_beat in ((None, 1), (16, 2), (32, 4)):
        accel = AccelConfig(rows=4, cols=4, weight_port_bits=width, max_m=16)
        cycles = sum(closed_cycles(4, 4, per_beat, 16, k, n) for _, k, n in projections)
        macs = sum(16 * k * n for _, k, n in projections)
        assert bench.layer_utilization(accel, 16, projections) == \
            pytest.approx(macs / (16 * cycles))


def test_traffic_table_on_the_command_line(capsys):
    assert bench.main(["--tables", "traffic", "--memory", "kv260", "--context", "2048"]) == 0
    out = capsys.readouterr().out
    # 2 x 30 x 5 x 128 x 2 bytes x 2048 positions = 157.3 MB, 9.83 ms at 16 GB/s
    assert "| KV cache, bf16, 2048 positions | 157.3 | 9.83 |" in out
    assert "| lm_head bf16 (128256 x 2560 x 2 bytes) | 656.7 | 41.04 |" in out


def test_projection_and_gemv_tables_on_the_command_line(capsys):
    assert bench.main(["--tables", "projection", "gemv", "--memory", "kv260", "--context",
                       "1024"]) == 0
    out = capsys.readouterr().out
    # roofline 2,084,044,800 x 2 / 512 = 8,140,800; fixed 30 x 7 x 70 = 14,700; utilization
    # 8,140,800 / 8,155,500; 250 MHz / 8,155,500 = 30.65 tokens/s; with the bf16 head
    # 1 / (32.62 ms + 656,670,720 B / 16 GB/s = 41.04 ms) = 13.6; + 78.6 MB of KV cache
    # (4.92 ms) 12.7
    assert ("| KV260 | 4 x 128 bit at 250 MHz (16.0) | 1 x 64x64 | i2 | 512 (4 rows) "
            "| 8,155,500 | 8,140,800 | 14,700 | 0 | 99.82 % | 30.7 | 13.6 | 12.7 |") in out
    # q_proj on 64x64 at 512 bits: 1600 tiles x 16 beats = 25,600 + 70
    assert "| 64x64 | i2 | 512 (4) | 2560x2560 | 25,670 | 25,600.0 | 70 | 1.0000 | 1.0027 " \
        "| yes |" in out
    assert "| NO |" not in out


@pytest.mark.parametrize("argv, message", [
    (["--memory", "nope"], "argument --memory: invalid choice: 'nope' (choose from 'kv260', "
                           "'ddr4', 'ddr4-300', 'hbm2')"),
    (["--context", "0"], "argument --context: expected an integer from 1 to 4096, not '0'"),
    (["--array", "64"], "--array must be ROWSxCOLS such as 64x64, not '64'"),
    (["--array", "300x4"], "--array 300x4: rows must be an integer from 1 to 256, not 300"),
    (["--tables", "all"], "argument --tables: invalid choice: 'all' (choose from "
                          "'projection', 'traffic', 'references', 'gemv', 'prefill')"),
])
def test_bad_arguments_are_one_line(capsys, argv, message):
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{PROG}: error: {message}\n"
