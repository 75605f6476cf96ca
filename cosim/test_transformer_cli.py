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


def test_several_prompts_are_one_batch_with_a_wide_weight_port(tmp_path):
    """Two prompts of different lengths decoded together on a 16x16 array whose weight port
    takes a whole i2 tile per cycle (512 bits): one answer per prompt, the bytes
    python -m golden.generate prints for the same batch; each prompt's logits (an .npz
    archive) equal golden's for that prompt alone; every decode GEMM has M = 2."""
    prompts = ["531962=", "8812="]
    batch = [arg for prompt in prompts for arg in ("--prompt", prompt)]
    args = ["--checkpoint", CHECKPOINT, *batch, "--max-new-tokens", "7", "--stop-at-eos"]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    report, logits = tmp_path / "run.json", tmp_path / "logits.npz"
    hardware = subprocess.run([sys.executable, "-m", "cosim.transformer", *args,
                               "--weight-port-bits", "512", "--report", str(report),
                               "--dump-logits", str(logits)], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=900)
    assert hardware.returncode == 0, hardware.stderr
    assert hardware.stdout == "123569\n112888\n"
    software = subprocess.run([sys.executable, "-m", "golden.generate", *args], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=900)
    assert software.returncode == 0 and software.stdout == hardware.stdout
    model = golden.load_checkpoint(ROOT / CHECKPOINT)
    with np.load(logits) as archive:
        for i, prompt in enumerate(prompts):
            _, expected = model.generate_with_logits(model.tokenizer.encode(prompt), 7,
                                                     stop_at_eos=True)
            assert np.array_equal(archive[f"prompt_{i}"], expected), prompt
    data = json.loads(report.read_text())
    assert data["cycle_model_agrees"] and data["batch"]["sequences"] == 2
    assert data["tokens"] == {"prompt": 12, "generated": 14, "decode_steps": 6}
    err = hardware.stderr.splitlines()
    passes = [line.split("] ", 1)[1] for line in err if line.startswith("  [")]
    assert passes[0] == "2 prompts (12 prompt tokens): layer 1/2 done"
    assert passes[2] == "new token 1 of 7 (2 sequences): layer 1/2 done"
    assert any(line.startswith("batch of 2 sequences at 200 MHz: ") for line in err)
