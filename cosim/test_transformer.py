"""The whole BitNet transformer with every projection on the simulated accelerator: logits
bit-identical to the pure-NumPy golden run at every step, identical tokens, and cycle counts
equal to the manifest's cycle model."""

import pathlib

import numpy as np
import pytest

import golden
from cosim.transformer import run_transformer


@pytest.fixture(scope="module")
def random_gqa_checkpoint(tmp_path_factory):
    """A random two-layer model with grouped-query attention (4 heads, 2 KV heads)."""
    config = golden.BitNetConfig.from_dict(dict(
        vocab_size=48, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64))
    folder = tmp_path_factory.mktemp("random-gqa")
    golden.save_checkpoint(golden.BitNetModel(config, golden.random_params(config, seed=3)),
                           folder)
    return folder


def _check_against_golden(checkpoint, prompt, steps, **array):
    expected_ids, expected_logits = golden.load_checkpoint(checkpoint).generate_with_logits(
        prompt, steps)
    run = run_transformer(checkpoint, prompt, steps, **array)
    assert np.array_equal(run.new_ids, expected_ids)
    assert run.logits.dtype == np.float32 and run.logits.shape == expected_logits.shape
    differ = np.argwhere(run.logits != expected_logits)
    assert differ.size == 0, f"logits differ first at step/vocab {differ[0]}"
    assert run.report["cycle_model_agrees"], run.report["cycle_model_mismatches"]
    return run


def test_random_gqa_model_is_bit_exact(random_gqa_checkpoint):
    run = _check_against_golden(random_gqa_checkpoint, [1, 5, 9, 2, 7], 6, rows=4, cols=3,
                                max_m=16, max_k=1000, max_n=1000)
    # 2 layers x 7 projections x (1 prefill + 5 decode steps)
    assert len(run.records) == 2 * 7 * 6
    assert {r["phase"] for r in run.records} == {"prefill", "decode"}


TRAINED = pathlib.Path(__file__).resolve().parent.parent / "models" / "sort-digits"


def test_trained_model_is_bit_exact_on_16x16():
    """The committed trained model (training/README.md) on a 16x16 array: logits identical to
    golden at every step, and the right answer."""
    from training import task
    example = task.sample_examples(1, seed=task.EVAL_SEED, split="held-out")[0]
    tokenizer = golden.load_checkpoint(TRAINED).tokenizer
    run = _check_against_golden(TRAINED, tokenizer.encode(example.prompt), task.LENGTH + 1,
                                rows=16, cols=16)
    assert tokenizer.decode(run.new_ids, skip_special_tokens=False) == example.target


def test_trained_model_answers_match_golden_on_held_out_batch():
    """A batch of held-out problems on the simulated 16x16 array: every answer equals the
    golden model's, so the accuracy is the same."""
    from training import task
    from cosim.transformer import run_transformer_batch
    examples = task.sample_examples(12, seed=task.EVAL_SEED + 1, split="held-out")
    model = golden.load_checkpoint(TRAINED)
    tokenizer = model.tokenizer
    prompts = [tokenizer.encode(e.prompt) for e in examples]
    runs = run_transformer_batch(TRAINED, prompts, task.LENGTH + 1, rows=16, cols=16)
    hardware = [tokenizer.decode(r.new_ids, skip_special_tokens=False) for r in runs]
    software = [tokenizer.decode(model.generate(p, task.LENGTH + 1), skip_special_tokens=False)
                for p in prompts]
    assert hardware == software
    correct = sum(h == e.target for h, e in zip(hardware, examples))
    assert correct == sum(s == e.target for s, e in zip(software, examples))
    assert correct >= 0.95 * len(examples)
