"""The simulator build cache (cosim/build.py): a build is identified by the Verilog text and the
tools, nothing else. No Verilator build runs here (the compile step is replaced)."""

import io
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

import cosim.build
from cosim.build import BUILD_ARGS, WAIVERS, build_key, build_simulator
from gen.emit import emit_verilog
from rtl.config import AccelConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent
VERSIONS = {"verilator": "5.48.0 rev v5.048", "cocotb": "2.1.0", "cocotb_libs": "/lib",
            "python": "3.11.7"}


def test_key_follows_the_verilog_text_and_every_tool():
    verilog = emit_verilog(AccelConfig(rows=2, cols=2))
    key = build_key(verilog, "ternary_accel", versions=VERSIONS)
    assert len(key) == 16 and int(key, 16) >= 0
    assert build_key(verilog, "ternary_accel", versions=dict(VERSIONS)) == key
    changed = [
        build_key(verilog.replace("endmodule", "endmodule // x", 1), "ternary_accel",
                  versions=VERSIONS),
        build_key(emit_verilog(AccelConfig(rows=2, cols=3)), "ternary_accel", versions=VERSIONS),
        build_key(verilog, "other_top", versions=VERSIONS),
        build_key(verilog, "ternary_accel", versions={**VERSIONS, "verilator": "5.50.0"}),
        build_key(verilog, "ternary_accel", versions={**VERSIONS, "cocotb": "2.2.0"}),
        build_key(verilog, "ternary_accel", versions=VERSIONS,
                  build_args=[*BUILD_ARGS, "--trace-fst"]),
    ]
    assert len({key, *changed}) == 1 + len(changed)


def test_key_follows_the_waiver_file(tmp_path):
    verilog = emit_verilog(AccelConfig(rows=2, cols=2))
    copy = tmp_path / WAIVERS.name
    shutil.copyfile(WAIVERS, copy)
    same = build_key(verilog, "top", control_files=[copy], versions=VERSIONS)
    assert same == build_key(verilog, "top", versions=VERSIONS)
    copy.write_text(WAIVERS.read_text() + "lint_off -rule UNUSEDSIGNAL\n")
    assert build_key(verilog, "top", control_files=[copy], versions=VERSIONS) != same


def test_a_source_edit_that_keeps_the_verilog_keeps_the_key(tmp_path):
    """Every generator source edited (a comment appended), the design emitted again from the
    edited copy: same Verilog, so the same key (no rebuild)."""
    for folder in ("rtl", "gen", "golden"):
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    for path in (tmp_path / "rtl").glob("*.py"):
        path.write_text(path.read_text() + "\n# an edit that changes no hardware\n")
    script = ("import sys; from gen.emit import emit_verilog; from rtl.config import AccelConfig;"
              "sys.stdout.write(emit_verilog(AccelConfig(rows=2, cols=2)))")
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    edited = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                            capture_output=True, text=True, check=True).stdout
    verilog = emit_verilog(AccelConfig(rows=2, cols=2))
    assert edited == verilog
    assert build_key(edited, "ternary_accel", versions=VERSIONS) == \
        build_key(verilog, "ternary_accel", versions=VERSIONS)


@pytest.fixture
def fake_compile(monkeypatch):
    """Replace Verilator and the C++ build by a recorder; fix the tool versions."""
    calls = []

    def compile_(folder, source, control_files, toplevel, build_args, waves):
        calls.append((folder.name, source.read_text(), [p.name for p in control_files]))
        if "fails" in source.read_text():
            raise RuntimeError("Command failed with return code: 1")
    monkeypatch.setattr(cosim.build, "_compile", compile_)
    monkeypatch.setattr(cosim.build, "tool_versions", lambda: dict(VERSIONS))
    return calls


def test_builds_once_per_key_and_again_for_new_verilog_or_tools(tmp_path, fake_compile,
                                                                monkeypatch):
    first = build_simulator("top", "module a; endmodule\n", "a", label="2x2", root=tmp_path)
    assert not first.reused and first.folder.parent == tmp_path
    assert first.folder.name.startswith("top-2x2-")
    assert fake_compile[0][2] == ["ports.vlt", "waivers.vlt"]      # waivers in every build
    again = build_simulator("top", "module a; endmodule\n", "a", label="2x2", root=tmp_path)
    assert again.reused and again.seconds == 0.0 and again.folder == first.folder
    assert len(fake_compile) == 1
    other = build_simulator("top", "module a; wire w; endmodule\n", "a", label="2x2",
                            root=tmp_path)
    assert not other.reused and other.folder != first.folder and len(fake_compile) == 2
    monkeypatch.setattr(cosim.build, "tool_versions", lambda: {**VERSIONS, "verilator": "6"})
    upgraded = build_simulator("top", "module a; endmodule\n", "a", label="2x2", root=tmp_path)
    assert not upgraded.reused and upgraded.folder != first.folder and len(fake_compile) == 3


def test_a_failed_build_names_its_log_and_is_not_reused(tmp_path, fake_compile):
    with pytest.raises(RuntimeError, match=r"^Verilator build failed \(Command failed with "
                                           r"return code: 1\); log: .*build\.log$"):
        build_simulator("top", "module fails; endmodule\n", "fails", root=tmp_path)
    with pytest.raises(RuntimeError):
        build_simulator("top", "module fails; endmodule\n", "fails", root=tmp_path)
    assert len(fake_compile) == 2


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_a_build_is_announced_with_its_time(tmp_path, fake_compile):
    stream = io.StringIO()
    build_simulator("top", "module a; endmodule\n", "a", label="8x8", root=tmp_path,
                    title="8x8", notify=stream)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("building the 8x8 simulator")
    assert lines[1].startswith("built the 8x8 simulator") and lines[1].endswith(" s")
    stream = io.StringIO()
    build_simulator("top", "module a; endmodule\n", "a", label="8x8", root=tmp_path,
                    title="8x8", notify=stream)
    assert stream.getvalue() == ""                                  # reused: nothing to say
    terminal = _Terminal()
    build_simulator("top", "module b; endmodule\n", "b", label="8x8", root=tmp_path,
                    title="8x8", notify=terminal)
    assert terminal.getvalue().endswith(" s\n") and "built the 8x8 simulator" in \
        terminal.getvalue()
