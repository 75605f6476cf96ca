"""The generator's command line: outputs, determinism and one-line errors."""

import json
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

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
    (["--wmem-depth", "3"], "--wmem-depth must be an integer from 16"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
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
    for folder in ("rtl", "gen"):
        shutil.copytree(ROOT / folder, checkout / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    result = _gen("--rows", "4", "--cols", "6", "-o", str(third), cwd=checkout,
                  pythonpath=checkout)
    assert result.returncode == 0, result.stderr
    for name in ("ternary_accel.v", "manifest.json"):
        reference = (first / name).read_bytes()
        assert (second / name).read_bytes() == reference
        assert (third / name).read_bytes() == reference
