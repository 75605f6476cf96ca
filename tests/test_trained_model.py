"""The committed trained checkpoint ``models/sort-digits`` in the golden model.

The checkpoint was trained by ``python -m training.train`` (see training/README.md); CI does not
retrain, it loads the committed files. The accuracy is measured here independently of the
training script: held-out problems from ``training.task``, greedy decoding in
``golden.BitNetModel``, exact match of the whole answer and its end-of-sequence token.
"""

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import golden
from training import task

ROOT = Path(__file__).resolve().parent.parent
CHECKPOINT = ROOT / "models" / task.NAME
#: Held-out problems checked; the same set (seed task.EVAL_SEED) that training.json reports.
N_HELD_OUT = 500
MIN_ACCURACY = 0.95
MAX_BYTES = 2 * 1024 * 1024
#: Held-out problems also run through HuggingFace transformers (batched, a few seconds).
N_HF = 200
IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def model():
    return golden.load_checkpoint(CHECKPOINT)


@pytest.fixture(scope="module")
def record():
    with open(CHECKPOINT / "training.json", encoding="utf-8") as handle:
        return json.load(handle)


def greedy_completions(model, prompts):
    tok = model.tokenizer
    return [
        tok.decode(model.generate(tok.encode(p), task.LENGTH + 1), skip_special_tokens=False)
        for p in prompts
    ]


# --- the task definition ----------------------------------------------------------------------


def test_example_format():
    ex = task.make_example("351962")
    assert ex.prompt == "351962="
    assert ex.answer == "123569"
    assert ex.target == "123569\n"
    with pytest.raises(ValueError, match=r"a problem must be 6 decimal digits, not '12a'"):
        task.make_example("12a")


def test_splits_are_disjoint_and_reproducible():
    held = task.sample_examples(200, seed=7, split="held-out")
    assert held == task.sample_examples(200, seed=7, split="held-out")
    assert len({ex.prompt for ex in held}) == 200
    assert all(task.is_held_out(ex.prompt[:-1]) for ex in held)
    train = task.sample_examples(200, seed=7, split="train")
    assert not any(task.is_held_out(ex.prompt[:-1]) for ex in train)
    # The vectorized batches of train.py follow the same rule and format.
    seqs = task.sample_train_ids(np.random.default_rng(3), 2000)
    texts = [task.decode(row) for row in seqs]
    for text in texts:
        ex = task.make_example(text[: task.LENGTH])
        assert text == ex.prompt + ex.target
        assert not task.is_held_out(text[: task.LENGTH])
    # About a tenth of all problems are held out (26/256 of the hash range).
    assert task.held_out_table().sum() == 101549


def test_exact_match_metric():
    examples = [task.make_example(d) for d in ("351962", "000000", "987654")]
    right = [ex.target for ex in examples]
    assert task.exact_match(lambda prompts: right, examples) == 1.0
    # A missing EOS, a wrong digit or a short answer is a miss; text after EOS is ignored.
    partly = [right[0] + "9=", right[1][:-1] + "0", right[2][:3]]
    assert task.exact_match(lambda prompts: partly, examples) == pytest.approx(1 / 3)


# --- the checkpoint ---------------------------------------------------------------------------


def test_checkpoint_files(record):
    names = sorted(os.listdir(CHECKPOINT))
    assert names == ["config.json", "model.safetensors", "tokenizer.json", "training.json"]
    total = sum(os.path.getsize(CHECKPOINT / n) for n in names)
    print(f"{CHECKPOINT.name}: {total} bytes")
    assert total < MAX_BYTES
    config = json.loads((CHECKPOINT / "config.json").read_text())
    assert config["model_type"] == "bitnet"
    assert config["quantization_config"]["linear_class"] == "bitlinear"
    assert record["seed"] == 0
    assert record["task"]["name"] == task.NAME


def test_weights_are_packed_ternary(model):
    from safetensors.numpy import load_file

    tensors = load_file(CHECKPOINT / "model.safetensors")
    for name in golden.projection_names(model.config):
        assert tensors[f"{name}.weight"].dtype == np.uint8
        wq, _ = model.projections()[name]
        assert np.array_equal(golden.pack_i2(wq), tensors[f"{name}.weight"])
        assert set(np.unique(wq)) <= {-1, 0, 1}


def test_tokenizer_round_trip(model):
    tok = model.tokenizer
    assert tok is not None
    assert tok.vocab_size == len(task.VOCAB)
    assert model.config.eos_token_id == tok.token_to_id(task.EOS)
    for ex in task.sample_examples(20, seed=1, split="held-out"):
        text = ex.prompt + ex.target
        ids = tok.encode(text)
        assert ids.tolist() == task.encode(text)
        assert tok.decode(ids, skip_special_tokens=False) == text


def test_held_out_accuracy(model, record):
    examples = task.sample_examples(N_HELD_OUT, seed=task.EVAL_SEED, split="held-out")
    accuracy = task.exact_match(lambda prompts: greedy_completions(model, prompts), examples)
    print(f"golden greedy exact match on {N_HELD_OUT} held-out problems: {accuracy:.4f}")
    assert accuracy >= MIN_ACCURACY
    # The golden model is deterministic, so this is the figure training measured.
    assert record["task"]["eval_examples"] == N_HELD_OUT
    assert accuracy == record["accuracy"]["golden_held_out"]


def test_stops_at_eos(model):
    tok = model.tokenizer
    for ex in task.sample_examples(5, seed=2, split="held-out"):
        new = model.generate(tok.encode(ex.prompt), 7, stop_at_eos=True)
        assert tok.decode(new, skip_special_tokens=False) == ex.target


def test_generate_cli():
    ex = task.make_example("531962")
    assert task.is_held_out("531962")  # a problem the model never saw
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "golden.generate",
            "--checkpoint",
            str(CHECKPOINT),
            "--prompt",
            ex.prompt,
            "--max-new-tokens",
            str(task.LENGTH + 1),
            "--stop-at-eos",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ex.target  # the answer and its EOS newline, no blank line after


def _require(module):
    """Import ``module`` from the hf extra: skip without it, but fail in CI (which installs it)."""
    if not IN_CI:
        return pytest.importorskip(
            module, reason=f"{module} is not installed (pip install -e '.[hf]')"
        )
    try:
        return importlib.import_module(module)
    except ImportError as error:
        pytest.fail(
            f"CI is set but {module} cannot be imported ({error}); "
            f"install the hf extra: pip install -e '.[dev,hf]'",
            pytrace=False,
        )


def test_huggingface_transformers_agrees(model):
    """The folder is a real HF BitNet checkpoint: transformers loads it and sorts too."""
    # HF wraps its BitNet layers in torch.compile when transformers.integrations.bitnet is
    # first imported; eager is much faster for a model this small.
    os.environ["TORCHDYNAMO_DISABLE"] = "1"
    torch = _require("torch")
    transformers = _require("transformers")
    _require("accelerate")
    hf, info = transformers.BitNetForCausalLM.from_pretrained(
        CHECKPOINT, dtype=torch.float32, attn_implementation="eager", output_loading_info=True
    )
    assert not {k: v for k, v in info.items() if v}, info
    hf.eval()
    examples = task.sample_examples(N_HF, seed=task.EVAL_SEED, split="held-out")
    prompts = torch.tensor([task.encode(ex.prompt) for ex in examples])
    with torch.no_grad():
        out = hf.generate(
            prompts,
            attention_mask=torch.ones_like(prompts),
            max_new_tokens=task.LENGTH + 1,
            do_sample=False,
            pad_token_id=task.VOCAB.index(task.UNK),
        )
    hf_completions = [task.decode(row) for row in out[:, prompts.shape[1] :].tolist()]
    accuracy = task.exact_match(lambda p: hf_completions, examples)
    print(f"transformers greedy exact match on {N_HF} held-out problems: {accuracy:.4f}")
    assert accuracy >= MIN_ACCURACY
    # HF's BitLinear rounds differently in the last float32 bit (y / (s * weight_scale)), so
    # agreement with golden is checked on the answers, not bit for bit.
    golden_completions = greedy_completions(model, [ex.prompt for ex in examples])
    assert hf_completions == golden_completions
