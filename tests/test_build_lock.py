"""The simulator cache shared by several processes (``pytest -n auto``): cosim/build.py's
``build_lock`` and cosim/design_cache.py.

Two forked processes ask for the same design at the same moment; the compile step is replaced
by a fake that takes a second, writes a small "model" (a Python file that prints the Verilog it
was built from) and records each call in a shared file, so the test is fast and counts builds
across processes. A build killed halfway must not block or poison the next one.
"""

import json
import multiprocessing
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

import cosim.build
import cosim.design_cache
from cosim.build import build_lock, build_simulator
from rtl.config import AccelConfig

VERSIONS = {"verilator": "5.48.0 rev v5.048", "cocotb": "2.1.0", "cocotb_libs": "/lib",
            "python": "3.11.7"}
VERILOG = "module counter(input clk, output reg [3:0] q); always @(posedge clk) q <= q + 1; " \
          "endmodule\n"

FORK = multiprocessing.get_context("fork")


@pytest.fixture
def slow_compile(tmp_path, monkeypatch):
    """Replace Verilator by a fake taking ``delay`` seconds that appends a line to
    ``compiles.log`` and writes ``model.py``; returns the log's path."""
    log = tmp_path / "compiles.log"
    delay = {"seconds": 1.0}

    def compile_(folder, source, control_files, toplevel, build_args, waves):
        with open(log, "a") as handle:
            handle.write(f"{os.getpid()} {folder.name}\n")
        time.sleep(delay["seconds"])
        (folder / "model.py").write_text(
            f"import sys; sys.stdout.write(open({str(source)!r}).read())\n")
    monkeypatch.setattr(cosim.build, "_compile", compile_)
    monkeypatch.setattr(cosim.build, "tool_versions", lambda: dict(VERSIONS))
    monkeypatch.setattr(cosim.build, "verilator_environment", lambda: None)
    return log, delay


def _in_children(target, count, tmp_path):
    """Run ``target(index, barrier)`` in ``count`` forked processes at once; return what each
    wrote to ``result-<index>.json`` (each must exit 0)."""
    barrier = FORK.Barrier(count)

    def child(index):
        result = target(index, barrier)
        (tmp_path / f"result-{index}.json").write_text(json.dumps(result))

    processes = [FORK.Process(target=child, args=(index,)) for index in range(count)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
        assert process.exitcode == 0, process.exitcode
    return [json.loads((tmp_path / f"result-{index}.json").read_text())
            for index in range(count)]


def _works(folder):
    """The fake model runs and reproduces its Verilog."""
    run = subprocess.run([sys.executable, str(folder / "model.py")], capture_output=True,
                         text=True, check=True)
    return run.stdout == VERILOG


def test_two_processes_build_the_same_design_once(tmp_path, slow_compile):
    log, _ = slow_compile
    root = tmp_path / "builds"

    def build(index, barrier):
        barrier.wait()
        simulator = build_simulator("top", VERILOG, "counter", label="lock", root=root)
        return {"folder": str(simulator.folder), "reused": simulator.reused}

    results = _in_children(build, 2, tmp_path)
    assert len(log.read_text().splitlines()) == 1                  # one build
    assert sorted(result["reused"] for result in results) == [False, True]
    assert results[0]["folder"] == results[1]["folder"]
    assert _works(pathlib.Path(results[0]["folder"]))  # both get the model
    # The lock file sits beside the build; nobody holds it any more.
    folder = pathlib.Path(results[0]["folder"])
    assert (root / (folder.name + ".lock")).exists()
    with build_lock(folder):
        pass


def test_a_killed_build_leaves_no_lock_and_is_built_again(tmp_path, slow_compile):
    log, delay = slow_compile
    root = tmp_path / "builds"
    delay["seconds"] = 60.0
    child = FORK.Process(target=build_simulator, args=("top", VERILOG, "counter"),
                         kwargs={"label": "lock", "root": root})
    child.start()
    for _ in range(200):                          # until the child is inside its compile
        if log.exists() and log.read_text():
            break
        time.sleep(0.05)
    else:
        pytest.fail("the child never started compiling")
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    assert child.exitcode == -signal.SIGKILL
    folder = next(root.glob("top-lock-*[!k]"))
    assert not (folder / ".built").exists()        # half a build, no stamp
    delay["seconds"] = 0.0
    began = time.monotonic()
    simulator = build_simulator("top", VERILOG, "counter", label="lock", root=root)
    assert time.monotonic() - began < 10           # the dead holder's lock is gone
    assert not simulator.reused and simulator.folder == folder and _works(folder)
    assert len(log.read_text().splitlines()) == 2


def test_two_processes_generate_and_index_a_design_once(tmp_path, slow_compile, monkeypatch):
    log, _ = slow_compile
    root = tmp_path / "builds"
    generated = tmp_path / "generated.log"
    monkeypatch.setattr(cosim.design_cache, "generation_versions", lambda: {"amaranth": "0.5"})
    config = AccelConfig(rows=2, cols=2)

    def design(cfg):
        with open(generated, "a") as handle:
            handle.write(f"{os.getpid()}\n")
        return VERILOG, "counter"

    def build(index, barrier):
        barrier.wait()
        simulator = cosim.design_cache.cached_simulator("harness", config, design, root=root)
        return {"folder": str(simulator.folder), "reused": simulator.reused}

    results = _in_children(build, 2, tmp_path)
    assert len(generated.read_text().splitlines()) == 1    # the second process waited
    assert len(log.read_text().splitlines()) == 1
    assert sorted(result["reused"] for result in results) == [False, True]
    assert results[0]["folder"] == results[1]["folder"]
    assert _works(pathlib.Path(results[0]["folder"]))
    entries = list((root / "index").glob("*.json"))
    assert len(entries) == 1 and entries[0].name.startswith(f"harness-{config.digest}-")
