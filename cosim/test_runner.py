"""The simulator-job runner (cosim/runner.py) on a tiny counter: a passing job keeps this
process's standard output clean and shows only its progress lines on stderr; a failing job,
or one where no test ran, raises one SimulationError naming the reason and a kept log."""

import pytest

import cocotb
from cocotb.triggers import ClockCycles

from .bench import start_clock
from .build import build_simulator
from .runner import SimulationError, SimulatorJob, progress

VERILOG = """\
module counter (input wire clk, output reg [3:0] count);
    initial count = 4'd0;
    always @(posedge clk) count <= count + 4'd1;
endmodule
"""


@cocotb.test()
async def counts(dut):
    start_clock(dut)
    await ClockCycles(dut.clk, 5)
    print("a line on the simulator's standard output")
    progress("counted to 5")
    assert 4 <= int(dut.count.value) <= 5


@cocotb.test()
async def fails(dut):
    start_clock(dut)
    await ClockCycles(dut.clk, 2)
    raise ValueError("a deliberate failure, count is 2")


@pytest.fixture(scope="module")
def counter():
    return build_simulator("runner", VERILOG, "counter", label="counter")


def test_a_passing_job_prints_nothing_on_stdout(counter, capfd):
    with SimulatorJob(counter, "probe") as job:
        assert job.run("cosim.test_runner", test_filter="counts", show_progress=True) == 1
        log = job.log.read_text()
    out, err = capfd.readouterr()
    assert out == ""
    assert [line.split("] ", 1)[1] for line in err.splitlines() if "] " in line] == \
        ["counted to 5"]
    assert "a line on the simulator's standard output" in log and "counted to 5" in log
    assert not job.folder.exists()                       # the temporary run folder is gone


def test_a_failing_job_names_its_reason_and_keeps_its_log(counter, capfd):
    with pytest.raises(SimulationError) as raised:
        with SimulatorJob(counter, "probe") as job:
            job.run("cosim.test_runner", test_filter="fails")
    message = str(raised.value)
    kept = counter.folder / "probe-failed.log"
    assert message == (f"co-simulation failed: ValueError: a deliberate failure, count is 2; "
                       f"log: {kept}")
    assert "a deliberate failure" in kept.read_text() and not job.folder.exists()
    assert capfd.readouterr().out == ""


def test_a_job_where_no_test_ran_fails(counter, tmp_path):
    job = SimulatorJob(counter, "probe", folder=tmp_path / "kept")
    with pytest.raises(SimulationError, match=r"^co-simulation failed: no cocotb test of "
                                              r"cosim\.test_runner matched 'no_such_test'; "
                                              r"log: .*kept/sim\.log$"):
        with job:
            job.run("cosim.test_runner", test_filter="no_such_test")
    assert (tmp_path / "kept" / "sim.log").exists()
