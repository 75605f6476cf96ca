"""benchmarks/axi_decode.py without simulation: its weight beats against the formula
N*K*bits/W, its shapes against 2B-4T's, the per-token sum, and the command line's one-line
errors."""

import pytest

from benchmarks import axi_decode as bench


def test_rows_of_the_2b_shapes():
    config = bench.accelerator(64, 64, "t5", 1024)
    rows = {name: (n, k, alone, queued, beats) for name, n, k, alone, queued, beats in
            bench.job_rows(config, 100)}
    assert {name: (n, k) for name, (n, k, _, _, _) in rows.items()} == {
        "q_proj": (2560, 2560), "k_proj": (640, 2560), "v_proj": (640, 2560),
        "o_proj": (2560, 2560), "gate_proj": (6912, 2560), "up_proj": (6912, 2560),
        "down_proj": (2560, 6912), "qkv": (3840, 2560), "gate_up": (13824, 2560)}
    for name, (n, k, alone, queued, beats) in rows.items():
        assert beats == n * k * 8 // 5 // 1024            # t5: 1.6 bits per weight, no padding
        assert beats < queued < alone < beats + 200       # a fixed cost below 200 cycles
        # queued, the memory latency (100) is hidden: what is left is the core's fill and
        # drain and the writer's tail, under 100 cycles
        assert queued < beats + 100 and alone - queued > 100 - 10
        assert beats / queued >= 0.95                     # issue 14's goal, every shape
    per_token = bench.token_cycles(config, 100)
    assert per_token == 30 * (rows["qkv"][2] + rows["o_proj"][2] + rows["gate_up"][2]
                              + rows["down_proj"][2])
    # a longer latency costs each of the 120 jobs of a token that many cycles ...
    assert bench.token_cycles(config, 150) == per_token + 120 * 50
    # ... and a queue of them only once
    queued = bench.token_cycles(config, 100, queue=True)
    assert bench.token_cycles(config, 150, queue=True) == queued + 50
    # (the first job from idle, every later one queued)
    assert queued == rows["qkv"][2] - rows["qkv"][3] + 30 * (
        rows["qkv"][3] + rows["o_proj"][3] + rows["gate_up"][3] + rows["down_proj"][3])
    assert len(bench.token_jobs(fuse=False)) == 210 and len(bench.token_jobs()) == 120


@pytest.mark.parametrize("argv, message", [
    (["--array", "64"], "--array must be ROWSxCOLS, not '64'"),
    (["--ports", "1000"], None),
    (["--formats", "t5", "--ports", "2048", "--array", "8x8"], None),
    (["--cosim", "640", "2560", "--latency", "50"],
     "--cosim simulates a memory of 100 cycles: give --latency 100"),
    (["--queue", "3"], "--queue needs --cosim"),
    (["--cosim", "640", "2560", "--queue", "0"], None),
])
def test_errors(argv, message, capsys):
    assert bench.main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""                             # nothing printed before the error
    err = captured.err.strip().splitlines()
    assert len(err) == 1
    if message is not None:
        assert err[0] == f"{bench.PROG}: error: {message}"
