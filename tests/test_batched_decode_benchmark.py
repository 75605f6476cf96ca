"""benchmarks/batched_decode.py: its cycles per decode step against hand calculations, and its
command line's one-line errors. No simulation, no timing."""

import pytest

from benchmarks import batched_decode as bench


PROG = "python benchmarks/batched_decode.py"


def test_batch_of_two_costs_one_cycle_more_per_job(capsys):
    """i2 at W = 512 on 64x64 (four tile rows per beat): one decode step of 2B-4T's 30 layers
    is 8,155,500 cycles (each of the 210 jobs its weight bits over 512 plus 70 fixed cycles:
    30 * (2 * 25600 + 2 * 6400 + 3 * 69120) + 210 * 70). Two sequences fit the 16 cycles a
    tile's weights take, so the step costs only the second row of every job's last tile: 210
    cycles more, and the total tokens/s doubles."""
    assert 30 * (2 * 25600 + 2 * 6400 + 3 * 69120) + 210 * 70 == 8_155_500
    assert bench.main(["--batch", "1", "2", "--weight-port-bits", "512",
                       "--weight-format", "i2"]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| i2 |")]
    assert rows == ["| i2 | 512 | 1 | 8,155,500 | 1.00 | 30.7 | 30.7 |",
                    "| i2 | 512 | 2 | 8,155,710 | 1.00 | 30.7 | 61.3 |"]


@pytest.mark.parametrize("args, message", [
    (["--clock-mhz", "0"], "argument --clock-mhz: expected a positive finite number, not '0'"),
    (["--batch", "0"], "argument --batch: expected an integer of at least 1, not '0'"),
    (["--weight-port-bits", "x"],
     "argument --weight-port-bits: expected 'default' or an integer, not 'x'"),
    (["--weight-format", "t3"], "argument --weight-format: invalid choice: 't3'"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, args, message):
    assert bench.main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"{PROG}: error: {message}")
    assert captured.err.count("\n") == 1
