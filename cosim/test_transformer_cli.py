"""``python -m cosim.transformer`` end to end, as a user runs it: standard output is the answer
and nothing else (the same bytes as ``python -m golden.generate``), progress and the report on
stderr, the logits bit-identical to golden's, the report and its picture written. Uses the
16x16 build of cosim/test_transformer.py (the default array)."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np

import golden

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKPOINT = "models/sort-digits"
ARGS = ["--checkpoint", CHECKPOINT, "--prompt", "531962=", "--max-new-tokens", "7",
        "--stop-at-eos"]


def _tool(module, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-m", module, *ARGS, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)


def test_standard_output_is_the_answer_only(tmp_path):
    report, logits = tmp_path / "run.json", tmp_path / "logits.npy"
    hardware = _tool("cosim.transformer", "--report", str(report), "--dump-logits",
                     str(logits))
    assert hardware.returncode == 0, hardware.stderr
    assert hardware.stdout == "123569\n"
    software = _tool("golden.generate", "--dump-logits", str(tmp_path / "golden.npy"))
    assert software.returncode == 0, software.stderr
    assert software.stdout == hardware.stdout
    model = golden.load_checkpoint(ROOT / CHECKPOINT)
    ids, expected = model.generate_with_logits(model.tokenizer.encode("531962="), 7,
                                               stop_at_eos=True)
    assert np.array_equal(np.load(logits), expected)
    assert np.array_equal(np.load(tmp_path / "golden.npy"), expected)
    err = hardware.stderr.splitlines()
    # what each forward pass processes: the 7 prompt tokens, then new tokens 1..6 of 7
    passes = [line.split("] ", 1)[1] for line in err if line.startswith("  [")]
    assert passes == [f"{what}: layer {layer}/2 done"
                      for what in ["7 prompt tokens", *(f"new token {i} of 7" for i in
                                                        range(1, 7))]
                      for layer in (1, 2)]
    assert any(line.startswith("wall ") and ", simulation " in line for line in err)
    data = json.loads(report.read_text())
    assert data["tokens"] == {"prompt": 7, "generated": 7, "decode_steps": 6}
    assert data["cycle_model_agrees"] and data["array"]["rows"] == 16
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
