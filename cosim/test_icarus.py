"""The 4x3 top-level bench under Icarus Verilog, a four-state event-driven simulator, with a
monitor that no handshake output is ever X or Z after reset.

Verilator has two states only: an X in the design becomes some 0 or 1 and nothing shows it.
Icarus keeps X and Z, so here a register that is read before anything wrote it (a memory
word has no initial value in the generated Verilog) would reach the outputs as X. The
monitor (:data:`MONITOR`, a second top-level module of the simulation, so it watches every
test of the bench) checks at both clock edges, from the first cycle with ``rst`` high on:

* ``cmd__ready``, ``weights__ready``, ``activations__ready``, ``results__valid``, ``busy``,
  ``done`` and ``cmd_error`` are all 0 or 1 (never X or Z);
* while ``results__valid`` is 1, every bit of ``results__payload`` is 0 or 1.

A violation prints ``handshake monitor:`` with the values and stops the simulation
(``$fatal``), which fails the cocotb test that was running. ``x_on_busy`` shows that the
monitor fires: it puts an X into the ``busy`` register after reset and must fail.

Every test of ``cosim/test_top.py`` then runs on the 4x3 design: each result bit-exact
against golden, each cycle count the manifest's, as under Verilator.

Needs ``iverilog`` (Debian: ``apt install iverilog``); the tests skip without it. CI does not
install it.
"""

import hashlib
import shutil
import subprocess

import pytest

import cocotb
from cocotb.triggers import RisingEdge

from .build import BUILD_ROOT


#: The configuration of ``cosim/test_top.py`` run here.
LABEL = "4x3-i2"
#: The outputs the monitor requires to be 0 or 1 after reset.
HANDSHAKE_OUTPUTS = ("cmd__ready", "weights__ready", "activations__ready", "results__valid",
                     "busy", "done", "cmd_error")
INSTALL_HINT = "Icarus Verilog is not installed (apt install iverilog)"


def monitor_verilog(toplevel):
    """The monitor module ``handshake_monitor``, watching the ports of ``toplevel`` by
    hierarchical name (a second root of the simulation: ``iverilog -s handshake_monitor``)."""
    outputs = ", ".join(f"{toplevel}.{name}" for name in HANDSHAKE_OUTPUTS)
    shown = " ".join(f"{name}=%b" for name in HANDSHAKE_OUTPUTS)
    return f"""\
module handshake_monitor;
  reg armed = 1'b0;
  always @(posedge {toplevel}.clk)
    if ({toplevel}.rst === 1'b1) armed <= 1'b1;
  task check;
    begin
      if (armed && ^{{{outputs}}} === 1'bx) begin
        $display("handshake monitor: X or Z on a handshake output at %0t: {shown}",
                 $time, {outputs});
        $fatal(1, "handshake monitor: X or Z on a handshake output");
      end
      if (armed && {toplevel}.results__valid === 1'b1
          && ^{toplevel}.results__payload === 1'bx) begin
        $display("handshake monitor: X or Z in the result payload with valid high at %0t: %b",
                 $time, {toplevel}.results__payload);
        $fatal(1, "handshake monitor: X or Z in a valid result payload");
      end
    end
  endtask
  always @(posedge {toplevel}.clk) check;
  always @(negedge {toplevel}.clk) check;
endmodule
"""


# ---- cocotb side --------------------------------------------------------------------------

@cocotb.test()
async def x_on_busy(dut):
    """After reset, an X deposited into the job control's ``busy`` register
    (``control.job__busy``; Icarus exposes internal signals) between two rising edges:
    ``busy`` and ``cmd__ready = ~busy`` are X at the falling edge, so the monitor must stop
    the simulation (this test fails when the monitor is live; the pytest side expects that
    failure). (An X on an input port would not
    do: the design reads ``cmd__valid`` in ``if`` statements, which take X as false.)"""
    from cocotb.triggers import FallingEdge
    from cocotb.types import Logic
    from .bench import bench_config, start_clock
    from .driver import AccelDriver
    from rtl.config import AccelConfig
    start_clock(dut)
    driver = AccelDriver(dut, AccelConfig(**bench_config()))
    await driver.reset()
    dut.control.job__busy.value = Logic("X")
    for _ in range(2):
        await FallingEdge(dut.clk)


# ---- pytest side --------------------------------------------------------------------------

def _icarus_build(config, verilog):
    """Compile the design and the monitor with Icarus into a folder named by their hash and
    the Icarus version; return ``(runner, folder)``."""
    from cocotb_tools.runner import Icarus
    version = subprocess.run(["iverilog", "-V"], capture_output=True, text=True).stdout
    monitor = monitor_verilog(config.name)
    key = hashlib.sha256("\0".join([version.splitlines()[0], verilog, monitor]).encode())
    folder = BUILD_ROOT / f"icarus-{config.digest}-{key.hexdigest()[:16]}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{config.name}.v").write_text(verilog)
    (folder / "handshake_monitor.v").write_text(monitor)
    runner = Icarus()
    runner.build(sources=[folder / f"{config.name}.v", folder / "handshake_monitor.v"],
                 hdl_toplevel=config.name, build_dir=folder, timescale=("1ns", "1ps"),
                 build_args=["-s", "handshake_monitor"], log_file=folder / "build.log")
    return runner, folder


def _run(runner, folder, config, run, modules, test_filter):
    import json
    from cocotb_tools.runner import get_results
    from .runner import CONFIG_VARIABLE
    test_dir = folder / f"run-{run}"
    test_dir.mkdir(exist_ok=True)
    results = test_dir / "results.xml"
    log = test_dir / "sim.log"
    try:
        runner.test(test_module=list(modules), hdl_toplevel=config.name,
                    hdl_toplevel_lang="verilog", build_dir=folder, test_dir=test_dir,
                    extra_env={CONFIG_VARIABLE: json.dumps(config.as_dict())},
                    test_filter=test_filter, results_xml=str(results), log_file=log)
    except (SystemExit, RuntimeError):
        pass                     # judged by the results file and the log below
    total, failed = get_results(results)
    return total, failed, log.read_text(errors="replace")


def _design(stripped=False):
    if shutil.which("iverilog") is None or shutil.which("vvp") is None:
        pytest.skip(INSTALL_HINT)
    from gen.emit import emit_verilog
    from .test_random_init import strip_initial_values
    from .test_top import CONFIGS
    config, _ = CONFIGS[LABEL]
    verilog = emit_verilog(config)
    return config, strip_initial_values(verilog) if stripped else verilog


@pytest.mark.parametrize("initial", ["emitted", "stripped"])
def test_icarus_top_bench(initial):
    """Every test of ``cosim/test_top.py`` on 4x3 under Icarus, the monitor silent: on the
    Verilog as emitted, and on the copy without initial values (every register X at power-up
    until reset or a write: :func:`cosim.test_random_init.strip_initial_values`)."""
    config, verilog = _design(stripped=initial == "stripped")
    runner, folder = _icarus_build(config, verilog)
    total, failed, log = _run(runner, folder, config, "top", ["cosim.test_top"], None)
    monitor = [line for line in log.splitlines() if "handshake monitor:" in line]
    assert not monitor, monitor[0]
    assert failed == 0, f"{failed} of {total} cocotb tests failed under Icarus; log: " \
                        f"{folder / 'run-top' / 'sim.log'}"
    assert total > 20


def test_icarus_monitor_fires():
    """An X in the ``busy`` register after reset reaches ``busy`` and ``cmd__ready``, and the
    monitor stops the simulation saying so."""
    config, verilog = _design()
    runner, folder = _icarus_build(config, verilog)
    total, failed, log = _run(runner, folder, config, "x-on-busy",
                              ["cosim.test_icarus"], "x_on_busy")
    assert (total, failed) == (1, 1)
    assert "handshake monitor: X or Z on a handshake output" in log
