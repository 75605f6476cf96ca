"""The whole BitNet transformer with every projection on the simulated accelerator: logits
bit-identical to the pure-NumPy golden run at every step, identical tokens, and cycle counts
equal to the manifest's cycle model; a batch of prompts decoded together (one GEMM per
projection per pass over all live sequences) gives every sequence the tokens and logits golden
gives its prompt alone."""

import pathlib

import numpy as np
import pytest

import golden
from cosim.transformer import run_transformer, run_transformer_batch


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
    """A batch of held-out problems decoded together on the simulated 16x16 array (each
    decode GEMM has M = 12): every answer equals the golden model's for its prompt alone, so
    the accuracy is the same."""
    from training import task
    examples = task.sample_examples(12, seed=task.EVAL_SEED + 1, split="held-out")
    model = golden.load_checkpoint(TRAINED)
    tokenizer = model.tokenizer
    prompts = [tokenizer.encode(e.prompt) for e in examples]
    batch = run_transformer_batch(TRAINED, prompts, task.LENGTH + 1, rows=16, cols=16)
    assert {r["m"] for r in batch.records if r["phase"] == "decode"} == {12}
    hardware = [tokenizer.decode(ids, skip_special_tokens=False) for ids in batch.new_ids]
    software = [tokenizer.decode(model.generate(p, task.LENGTH + 1), skip_special_tokens=False)
                for p in prompts]
    assert hardware == software
    correct = sum(h == e.target for h, e in zip(hardware, examples))
    assert correct == sum(s == e.target for s, e in zip(software, examples))
    assert correct >= 0.95 * len(examples)
    assert batch.report["cycle_model_agrees"], batch.report["cycle_model_mismatches"]


@pytest.mark.parametrize("array, options", [
    (dict(rows=4, cols=3), dict()),
    (dict(rows=4, cols=3, weight_port_bits=24), dict(temperature=2.0, top_k=6, seed=[3, 4, 5])),
], ids=["greedy-default-port", "sampled-whole-tile-port"])
def test_a_batch_of_prompts_of_different_lengths_is_bit_exact(random_gqa_checkpoint, array,
                                                              options):
    """Prompts of 5, 1 and 3 tokens decoded together: the prefill is one GEMM per projection
    with M = 9, each decode pass one GEMM per projection with M = 3; every sequence's tokens
    and logits equal golden's generate_with_logits on its prompt alone, and every GEMM's
    cycles equal the cycle model (also with a weight port of a whole 4x3 i2 tile, 24 bits)."""
    prompts, steps = [[1, 5, 9, 2, 7], [30], [4, 4, 11]], 4
    model = golden.load_checkpoint(random_gqa_checkpoint)
    batch = run_transformer_batch(random_gqa_checkpoint, prompts, steps, max_m=16, max_k=1000,
                                  max_n=1000, **array, **options)
    for i, prompt in enumerate(prompts):
        alone = dict(options, seed=options["seed"][i]) if "seed" in options else options
        ids, logits = model.generate_with_logits(prompt, steps, **alone)
        assert np.array_equal(batch.new_ids[i], ids), i
        assert batch.logits[i].dtype == np.float32 and np.array_equal(batch.logits[i], logits)
    # 2 layers x 7 projections x (1 prefill + 3 decode passes), whatever the batch size
    assert len(batch.records) == 2 * 7 * 4
    assert [r["m"] for r in batch.records] == [9] * 14 + [3] * 42
    assert batch.report["cycle_model_agrees"], batch.report["cycle_model_mismatches"]
    assert batch.report["batch"]["sequences"] == 3
    assert batch.report["batch"]["new_tokens"] == [4, 4, 4]
    assert batch.report["tokens"] == {"prompt": 9, "generated": 12, "decode_steps": 3}


def test_an_empty_batch_or_one_beyond_the_context_is_refused_before_any_build(
        random_gqa_checkpoint, monkeypatch):
    import cosim.design_cache

    def refuse(*args, **kwargs):
        raise AssertionError("a simulator was built")
    monkeypatch.setattr(cosim.design_cache, "cached_simulator", refuse)
    with pytest.raises(ValueError, match=r"^prompts must hold at least one prompt$"):
        run_transformer_batch(random_gqa_checkpoint, [], 3, rows=4, cols=3)
    with pytest.raises(ValueError, match=r"^prompts\[1\]: 60 prompt tokens \+ 5 new tokens "
                                         r"exceed max_position_embeddings=64$"):
        run_transformer_batch(random_gqa_checkpoint, [[1], [2] * 60], 5, rows=4, cols=3)
