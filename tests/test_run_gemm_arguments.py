"""run_gemm refuses bad arguments with a ValueError (or TypeError for wrong types) before it
generates or builds anything."""

import numpy as np
import pytest

import cosim.build
from cosim import run_gemm


@pytest.fixture(autouse=True)
def no_builds(tmp_path, monkeypatch):
    monkeypatch.setattr(cosim.build, "BUILD_ROOT", tmp_path / "builds")
    yield
    assert not (tmp_path / "builds").exists(), "a build was started"


X = np.zeros((2, 3), dtype=np.int8)
W = np.zeros((4, 3), dtype=np.int8)


@pytest.mark.parametrize("x, w, kwargs, error, message", [
    (X, W * 0 + 2, {}, ValueError, r"weights must be ternary \(-1, 0, \+1\); found 2 at \[0, 0\]"),
    (X.astype(np.int16) + 200, W, {}, ValueError, r"activations .*\[0, 0\]"),
    (X, np.zeros((4, 5), dtype=np.int8), {}, ValueError,
     r"K mismatch: activations have K=3 but weights have K=5"),
    (X[0], W, {}, ValueError, r"activations must be a 2-D array \[M, K\], got shape \(3,\)"),
    (X.astype(np.float32), W, {}, TypeError, r"activations must be an integer array"),
    (X, W, {"rows": 0}, ValueError, r"rows must be an integer from 1 to 256, not 0"),
    (X, W, {"weight_format": "t4"}, ValueError, r"weight_format must be 'i2' or 't5'"),
    (X, W, {"sim": "icarus"}, ValueError, r"sim must be one of 'verilator', not 'icarus'"),
    (X, W, {"act_bits": 4}, ValueError, r"activations must fit 4-bit signed integers"),
    (np.zeros((2, 70000), dtype=np.int8), np.zeros((1, 70000), dtype=np.int8), {}, ValueError,
     r"K=70000 exceeds the accelerator's max_k=65535"),
])
def test_rejected_before_simulation(x, w, kwargs, error, message):
    if kwargs.get("act_bits") == 4:
        x = x + 9
    arguments = {"rows": 4, "cols": 4, **kwargs}
    with pytest.raises(error, match=message):
        run_gemm(x, w, **arguments)


@pytest.mark.parametrize("jobs, kwargs, error, message", [
    ([], {}, ValueError, r"^jobs must hold at least one \(x, w\) pair$"),
    ("xw", {}, TypeError, r"^jobs must be a list of \(x, w\) pairs, not str$"),
    ([(X, W), X], {}, TypeError, r"^jobs\[1\] must be an \(x, w\) pair, not ndarray$"),
    ([(X, W)], {"interface": "stream"}, ValueError,
     r"^interface must be 'axi' \(a queue runs on the memory-mapped top\), not 'stream'$"),
    ([(X, W * 0 + 2)], {}, ValueError, r"weights must be ternary"),
    ([(X, W), (np.zeros((9, 3), dtype=np.int8), W)], {"max_m": 8}, ValueError,
     r"^jobs\[1\] has M = 9, above max_m = 8: a queued job is one hardware job$"),
    ([(X, W)], {"rows": 0}, ValueError, r"rows must be an integer from 1 to 256, not 0"),
])
def test_queue_rejected_before_simulation(jobs, kwargs, error, message):
    from cosim import run_axi_queue
    arguments = {"rows": 4, "cols": 4, **kwargs}
    with pytest.raises(error, match=message):
        run_axi_queue(jobs, **arguments)
