"""The generator's command line: outputs, determinism and one-line errors."""

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
from amaranth import Module
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out

from gen.emit import emit_module, emit_verilog
from rtl.config import AccelConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _gen(*args, cwd=ROOT, pythonpath=ROOT):
    env = dict(os.environ, PYTHONPATH=str(pythonpath))
    return subprocess.run([sys.executable, "-m", "gen", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


@pytest.mark.parametrize("args, message", [
    (["--rows", "0"], "--rows must be an integer from 1 to 256, not 0"),
    (["--rows", "-3"], "--rows must be an integer from 1 to 256, not -3"),
    (["--rows", "abc"], "argument --rows: expected an integer, not 'abc'"),
    (["--cols", "100000"], "--cols must be an integer from 1 to 256, not 100000"),
    (["--acc-bits", "16"], "--acc-bits must be at least 24"),
    (["--weight-format", "t7"], "argument --weight-format: invalid choice"),
    (["--wmem-tiles", "1"], "--wmem-tiles must be an integer from 2 to 4096, not 1"),
    (["--weight-port-bits", "24"], "--weight-port-bits must be the width of a whole number of "
     "tile rows of 8 i2 weights, from 16 (one row) to 128 (the whole tile of 8 rows), not 24; "
     "powers of two among them: 16, 32, 64, 128"),
    (["--weight-port-bits", "wide"], "argument --weight-port-bits: expected an integer, not 'wide'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--act-bits", "9"], "--act-bits must be an integer from 2 to 8, not 9"),
    (["--max-k", "0"], "--max-k must be an integer from 1 to 16777215, not 0"),
    (["--max-n", "16777216"], "--max-n must be an integer from 1 to 16777215, not 16777216"),
    (["--max-m", "0"], "--max-m must be an integer from 1 to 65536, not 0"),
    (["--result-lanes", "9"],
     "--result-lanes must be an integer from 1 to 8, not 9 (one result row is 8 lanes)"),
])
def test_bad_arguments_exit_2_with_one_line(tmp_path, args, message):
    out = tmp_path / "out"
    result = _gen(*args, "-o", str(out))
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("python -m gen: error: ") and message in lines[0]
    assert not out.exists()


def test_unwritable_output_exits_2_and_writes_nothing(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = _gen("-o", str(blocker / "sub"))
    assert result.returncode == 2
    assert result.stderr.strip() == (f"python -m gen: error: cannot create output folder "
                                     f"'{blocker / 'sub'}': '{blocker}' is not a folder")
    result = _gen("-o", str(blocker))
    assert result.returncode == 2 and "exists and is not a folder" in result.stderr
    assert sorted(os.listdir(tmp_path)) == ["a-file"]


def test_outputs_and_manifest(tmp_path):
    result = _gen("--rows", "5", "--cols", "3", "--weight-format", "t5", "--name", "acc5x3",
                  "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(tmp_path)) == ["acc5x3.f", "acc5x3.v", "manifest.json"]
    assert (tmp_path / "acc5x3.f").read_text() == "acc5x3.v\n"
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["top"] == "acc5x3"
    assert manifest["parameters"]["rows"] == 5 and manifest["weight_format"]["name"] == "t5"
    verilog = (tmp_path / "acc5x3.v").read_text()
    # Every manifest port is a port of the top module with that width.
    header = verilog[verilog.index("module acc5x3("):]
    header = header[:header.index("endmodule")]
    for port in manifest["ports"]:
        width = port["width"]
        decl = f"{port['direction']} {'[' + str(width - 1) + ':0] ' if width > 1 else ''}{port['name']};"
        assert decl in header, decl
    # The PE is one module per partial-sum width, instantiated by the column.
    assert verilog.count("module acc5x3_column(") == 1
    assert verilog.count("module acc5x3_pe_") == 5
    assert "/tmp" not in verilog and "/work" not in verilog


def test_deterministic_across_runs_and_checkouts(tmp_path):
    first, second, third = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    assert _gen("--rows", "4", "--cols", "6", "-o", str(first)).returncode == 0
    assert _gen("--rows", "4", "--cols", "6", "-o", str(second)).returncode == 0
    # A second checkout in another folder, run from there.
    checkout = tmp_path / "elsewhere" / "checkout"
    for folder in ("rtl", "gen", "golden"):
        shutil.copytree(ROOT / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    result = _gen("--rows", "4", "--cols", "6", "-o", str(third), cwd=checkout,
                  pythonpath=checkout)
    assert result.returncode == 0, result.stderr
    for name in ("ternary_accel.v", "manifest.json"):
        reference = (first / name).read_bytes()
        assert (second / name).read_bytes() == reference
        assert (third / name).read_bytes() == reference


@pytest.mark.parametrize("args, examples", [
    # Hand-worked from docs/interface.md's cycle model, one row per beat (k = 1):
    # max(R + (T - 1)*max(M, 4), T*R) + M + R + 5 with T = ceil(K/R)*ceil(N/C): the example
    # jobs stay within max_k and max_n.
    (["--rows", "8", "--cols", "8", "--max-k", "31"],
     [(1, 8, 8, 22), (32, 31, 32, 533)]),          # T = 4*4: 8 + 15*32 + 32 + 13
    (["--max-k", "1"], [(1, 1, 8, 22), (32, 1, 32, 149)]),        # T = 1*4
    (["--max-n", "1"], [(1, 8, 1, 22), (32, 32, 1, 149)]),        # T = 4*1
    (["--rows", "64", "--cols", "64", "--max-k", "100"],
     [(1, 64, 64, 134), (256, 100, 256, 2181)]),   # T = 2*4: 64 + 7*256 + 256 + 69
    # A whole tile per beat (k = 8): T beats, then M + 13.
    (["--weight-port-bits", "128", "--max-k", "31"],
     [(1, 8, 8, 22 - 7), (32, 31, 32, 1 + 15 * 32 + 32 + 13)]),
])
def test_small_job_limits_generate(tmp_path, args, examples):
    """Legal limits below the example jobs' sizes used to crash building the manifest
    (exit 1, a traceback ending in "K must be an integer from 1 to 31, not 32")."""
    result = _gen(*args, "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert sorted(os.listdir(tmp_path)) == ["manifest.json", "ternary_accel.f", "ternary_accel.v"]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [(job["M"], job["K"], job["N"], job["cycles"])
            for job in manifest["cycle_model"]["examples"]] == examples


def test_result_lanes_narrow_the_result_stream(tmp_path):
    result = _gen("--result-lanes", "3", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    # 8 lanes of 32 bits in beats of 3 lanes: 96-bit beats, 3 per row.
    assert {"name": "results__payload", "direction": "output", "width": 96} in manifest["ports"]
    widths = manifest["widths"]
    assert (widths["result_beat"], widths["result_lanes_per_beat"],
            widths["result_beats_per_row"]) == (96, 3, 3)
    assert manifest["cycle_model"]["result_beats_per_row"] == 3
    assert manifest["parameters"]["result_lanes"] == 3
    # One row of one tile: the one-beat count (31 at 8x8) and the row's two further beats.
    assert manifest["cycle_model"]["examples"][0] == {"M": 1, "K": 8, "N": 8, "cycles": 24}
    verilog = (tmp_path / "ternary_accel.v").read_text()
    assert "output [95:0] results__payload;" in verilog


@pytest.mark.parametrize("keyword", ["module", "logic", "always_ff", "wire"])
def test_verilog_keyword_as_name_is_refused(tmp_path, keyword):
    result = _gen("--name", keyword, "-o", str(tmp_path / "out"))
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (f"python -m gen: error: --name must not be a Verilog or "
                             f"SystemVerilog keyword, not '{keyword}'\n")
    assert not (tmp_path / "out").exists()


def _help_entries():
    """``{option: its help text}`` from ``python -m gen --help``, whitespace collapsed."""
    result = _gen("--help")
    assert result.returncode == 0, result.stderr
    entries = {}
    for match in re.finditer(r"^  (-[^\n]*(?:\n {4,}[^\n]*)*)", result.stdout, re.M):
        text = " ".join(match.group(1).split())
        entries[re.findall(r"--[a-z-]+", text)[0]] = text
    return entries


def test_every_option_has_a_help_line_with_default_and_range():
    entries = _help_entries()
    options = {"--help", "--rows", "--cols", "--act-bits", "--acc-bits", "--weight-format",
               "--weight-port-bits", "--wmem-tiles", "--max-m", "--max-k", "--max-n", "--name", "--pe",
               "--result-lanes", "--interface", "--data-port-bits", "--read-latency",
               "--output",
               "--synth", "--pnr", "--device", "--freq", "--no-dsp", "--no-breakdown",
               "--synth-timeout"}
    assert set(entries) == options
    for option, text in entries.items():
        if option != "--help":
            assert "(default" in text, text
    # The ranges and defaults, written out by hand from docs and rtl/config.py's checks.
    expected = {
        "--rows": "1 to 256 (default 8)", "--cols": "1 to 256 (default 8)",
        "--act-bits": "2 to 8 (default 8)", "--acc-bits": "up to 64",
        "--wmem-tiles": "2 to 4096 (default: enough that the weights stream never waits, "
                        "2 + ceil((rows+1)/floor(rows/k)))",
        "--weight-port-bits": "k = 1 to rows (i2: 2*k*cols bits, t5: 8*ceil(k*cols/5)); a "
                              "wrong W is refused with the legal range (default: one row; with "
                              "--interface axi the widest power of two up to 1024)",
        "--interface": "stream (command and data streams) or axi", "--read-latency":
        "(default 100)", "--data-port-bits": "a power of two from 32 to 1024 (default: the "
                                             "activation row rounded up)",
        "--max-m": "1 to 65536 (default 256)", "--max-k": "1 to 16777215 (default 65535)",
        "--max-n": "1 to 16777215 (default 65535)", "--weight-format": "(default i2)",
        "--name": "(default ternary_accel)", "--pe": "(default ternary)",
        "--output": "(default build)", "--freq": "above 0 (default 150)",
        "--result-lanes": "1 to cols: a result row leaves in ceil(cols/result-lanes) beats "
                          "(default: cols, one beat per row)",
        "--synth-timeout": "above 0 (default 3600)",
        "--device": "(default LFE5U-85F-8CABGA381 for ecp5, iCE40HX8K-CT256 for ice40, "
                    "GW2A-LV18PG256C8/I7 for gowin, LIFCL-40-9BG400C for nexus)",
    }
    for option, text in expected.items():
        assert text in entries[option], entries[option]
    assert "(default 32)" in entries["--acc-bits"]


class _Table(wiring.Component):
    """A 4 x 8-bit memory read through one port: a RAM (``init=[]``) or a table."""

    def __init__(self, init):
        self.init = init
        super().__init__({"addr": In(2), "data": Out(8)})

    def elaborate(self, platform):
        m = Module()
        m.submodules.storage = storage = memory.Memory(shape=8, depth=4, init=self.init)
        read = storage.read_port()
        m.d.comb += [read.addr.eq(self.addr), self.data.eq(read.data)]
        return m


def test_zero_memory_contents_are_not_written_but_tables_are():
    ram = emit_module(_Table([]), "ram")
    assert "reg [7:0] storage [3:0];" in ram
    assert "initial" not in ram and "storage[0] =" not in ram
    table = emit_module(_Table([1, 2, 0, 3]), "table")
    assert "reg [7:0] storage [3:0];" in table
    for index, value in enumerate(["01", "02", "00", "03"]):
        assert f"storage[{index}] = 8'h{value};" in table


def test_design_memories_are_declared_without_initial_contents():
    """The accumulator, result queue and weight store memories (the design never uses a word
    it has not written) used to be written out word by word as zeros: 1 MiB of the 2.6 MiB
    at 1x256."""
    verilog = emit_verilog(AccelConfig(rows=8, cols=8))
    declarations = re.findall(r"^  reg \[(\d+):0\] storage \[(\d+):0\];$", verilog, re.M)
    banks = re.findall(r"^  reg \[(\d+):0\] bank_\d+ \[(\d+):0\];$", verilog, re.M)
    # 8 columns x 32 bits: 256 accumulator rows (max_m), 15 queue slots (R + 7), and 8 weight
    # banks of 4 tiles x 8 x 2 bits.
    assert sorted(declarations) == sorted([("255", "255"), ("255", "14")])
    assert banks == [("15", "3")] * 8
    assert re.search(r"(storage|bank_\d+)\[\d+\] = ", verilog) is None
