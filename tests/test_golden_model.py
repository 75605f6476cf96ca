"""Tests for golden.config and golden.model: the BitNet b1.58 transformer.

The model is checked against ``reference_logits``, a float64 re-statement of HuggingFace's
``modeling_bitnet.py`` written here with plain matmuls, ``repeat_kv`` and an additive causal
mask; it differs from the golden model only by float rounding. Variants of the reference with
one architectural mistake each (interleaved RoPE, tiled GQA heads, no sub-norm) are checked to
be far away, so the comparison is able to fail.
"""

import re

import numpy as np
import pytest

from golden import (BitNetConfig, BitNetModel, int_gemm, param_shapes, projection_names,
                    random_params)

SEED = 0xB17E


def tiny_config(**overrides):
    fields = dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=40,
                  rope_theta=10000.0, eos_token_id=5)
    fields.update(overrides)
    return BitNetConfig(**fields)


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


def reference_logits(config, params, ids, variant="hf"):
    """HuggingFace's BitNet forward in float64 (BitLinear: ``xq @ wq.T / (s / gamma)``)."""
    c, d = config, config.head_dim
    heads, kv, t = c.num_attention_heads, c.num_key_value_heads, len(ids)
    p64 = {k: np.asarray(v, np.float64) for k, v in params.items()}

    def rms(x, w):
        return w * (x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + c.rms_norm_eps))

    def bitlinear(x, name):
        s = 127.0 / np.maximum(np.abs(x).max(-1, keepdims=True), 1e-5)
        return (np.clip(np.round(x * s), -128, 127) @ p64[name + ".weight"].T) / (
            s / p64[name + ".gamma"])

    def rope(x):  # [heads, T, d]
        angle = np.arange(t)[:, None] / c.rope_theta ** (np.arange(0, d, 2) / d)
        if variant == "interleaved_rope":
            out = np.empty_like(x)
            out[..., 0::2] = x[..., 0::2] * np.cos(angle) - x[..., 1::2] * np.sin(angle)
            out[..., 1::2] = x[..., 0::2] * np.sin(angle) + x[..., 1::2] * np.cos(angle)
            return out
        angle = np.concatenate([angle, angle], -1)
        rotated = np.concatenate([-x[..., d // 2:], x[..., :d // 2]], -1)
        return x * np.cos(angle) + rotated * np.sin(angle)

    x = p64["model.embed_tokens.weight"][ids]
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}"
        n = rms(x, p64[f"{p}.input_layernorm.weight"])
        q, k, v = (bitlinear(n, f"{p}.self_attn.{name}").reshape(t, -1, d).transpose(1, 0, 2)
                   for name in ("q_proj", "k_proj", "v_proj"))
        q, k = rope(q), rope(k)
        spread = (lambda a: np.tile(a, (heads // kv, 1, 1))) if variant == "gqa_tiled" else (
            lambda a: np.repeat(a, heads // kv, axis=0))      # repeat_kv: head h uses h // G
        scores = q @ spread(k).transpose(0, 2, 1) * d ** -0.5 + np.triu(np.full((t, t), -np.inf), 1)
        w = np.exp(scores - scores.max(-1, keepdims=True))
        a = ((w / w.sum(-1, keepdims=True)) @ spread(v)).transpose(1, 0, 2).reshape(t, heads * d)
        if variant != "no_sub_norm":
            a = rms(a, p64[f"{p}.self_attn.attn_sub_norm.weight"])
        h = x + bitlinear(a, f"{p}.self_attn.o_proj")
        n = rms(h, p64[f"{p}.post_attention_layernorm.weight"])
        m = np.maximum(bitlinear(n, f"{p}.mlp.gate_proj"), 0) ** 2
        m = m * bitlinear(n, f"{p}.mlp.up_proj")
        x = h + bitlinear(rms(m, p64[f"{p}.mlp.ffn_sub_norm.weight"]), f"{p}.mlp.down_proj")
    head = p64.get("lm_head.weight", p64["model.embed_tokens.weight"])
    return rms(x, p64["model.norm.weight"]) @ head.T


# --- configuration ------------------------------------------------------------------------------


def test_config_from_hf_2b4t_dict_and_defaults():
    hf = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "hidden_act": "relu2",
          "vocab_size": 128256, "hidden_size": 2560, "intermediate_size": 6912,
          "num_hidden_layers": 30, "num_attention_heads": 20, "num_key_value_heads": 5,
          "max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
          "tie_word_embeddings": True, "bos_token_id": 128000, "eos_token_id": [128001, 128009],
          "torch_dtype": "bfloat16", "quantization_config": {"quant_method": "bitnet"}}
    c = BitNetConfig.from_dict(hf)
    assert (c.head_dim, c.num_key_value_heads, c.max_position_embeddings) == (128, 5, 4096)
    assert c.tie_word_embeddings is True and c.eos_token_ids == (128001, 128009)
    assert BitNetConfig.from_dict(c.to_dict()) == c
    required = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
                "num_attention_heads")
    bare = BitNetConfig.from_dict({k: hf[k] for k in required})
    assert (bare.num_key_value_heads, bare.rms_norm_eps, bare.rope_theta) == (20, 1e-5, 500000.0)
    assert (bare.max_position_embeddings, bare.tie_word_embeddings, bare.eos_token_ids) == (
        2048, False, ())


@pytest.mark.parametrize("change, error, message", [
    ({"hidden_size": None}, ValueError, "missing required field 'hidden_size'"),
    ({"vocab_size": "64"}, TypeError, "vocab_size must be an integer, not str"),
    ({"num_hidden_layers": 0}, ValueError, "num_hidden_layers must be a positive integer, not 0"),
    ({"hidden_size": 30, "head_dim": None}, ValueError,
     "hidden_size 30 is not divisible by num_attention_heads 4"),
    ({"num_key_value_heads": 3}, ValueError,
     "num_attention_heads 4 is not a multiple of num_key_value_heads 3"),
    ({"head_dim": 4}, ValueError, "num_attention_heads * head_dim = 4 * 4 = 16 must equal "
     "hidden_size 32 (attn_sub_norm has hidden_size weights)"),
    ({"hidden_size": 12, "head_dim": None}, ValueError,
     "head_dim must be even for the rotary embedding, not 3"),
    ({"rms_norm_eps": 0}, ValueError, "rms_norm_eps must be positive and finite, not 0"),
    ({"tie_word_embeddings": 1}, TypeError, "tie_word_embeddings must be true or false, not int"),
    ({"eos_token_id": -1}, ValueError, "eos_token_id must be non-negative, not -1"),
    ({"model_type": "llama"}, ValueError, "model_type must be 'bitnet', not 'llama'"),
    ({"hidden_act": "silu"}, ValueError, "hidden_act must be 'relu2', not 'silu'"),
    ({"attention_bias": True}, ValueError, "attention_bias=true is not supported"),
    ({"rope_scaling": {"rope_type": "llama3"}}, ValueError, "rope_scaling is not supported"),
])
def test_config_errors(change, error, message):
    d = tiny_config().to_dict()
    d.update(change)
    with pytest.raises(error, match="^" + re.escape(message)):
        BitNetConfig.from_dict(d)


# --- forward pass -------------------------------------------------------------------------------


@pytest.mark.parametrize("kv_heads, tie", [(2, False), (2, True), (4, False), (1, True)])
def test_logits_match_float64_reference(rng, kv_heads, tie):
    config = tiny_config(num_key_value_heads=kv_heads, tie_word_embeddings=tie)
    params = random_params(config, seed=kv_heads + 10 * tie)
    ids = rng.integers(0, config.vocab_size, 24)
    logits = BitNetModel(config, params)(ids)
    assert logits.dtype == np.float32 and logits.shape == (24, config.vocab_size)
    scale = np.abs(logits).max()
    assert np.abs(logits - reference_logits(config, params, ids)).max() < 1e-3 * scale
    wrong = ["interleaved_rope", "no_sub_norm"] + (["gqa_tiled"] if 1 < kv_heads < 4 else [])
    for variant in wrong:
        assert np.abs(logits - reference_logits(config, params, ids, variant)).max() > 0.05 * scale


@pytest.mark.parametrize("kv_heads", [1, 2, 4])
def test_prefill_and_incremental_decoding_are_bit_identical(rng, kv_heads):
    config = tiny_config(num_key_value_heads=kv_heads)
    model = BitNetModel(config, random_params(config, seed=3))
    ids = rng.integers(0, config.vocab_size, 30)
    full = model(ids)
    for cuts in ([], [1, 2, 3, 10, 11, 29], list(range(1, 30))):
        cache, pieces = model.new_cache(), []
        for piece in np.split(ids, cuts):
            pieces.append(model.forward(piece, cache))
        assert cache.length == 30
        assert np.array_equal(np.concatenate(pieces), full)
    cache = model.new_cache()
    model.forward(ids[:20], cache)
    assert np.array_equal(model.forward(ids[20:], cache, last_only=True), full[-1:])


def test_tied_lm_head_is_the_embedding():
    tied = tiny_config(tie_word_embeddings=True)
    params = random_params(tied, seed=4)
    assert "lm_head.weight" not in params
    untied = dict(params, **{"lm_head.weight": params["model.embed_tokens.weight"].copy()})
    ids = np.arange(12)
    logits = BitNetModel(tied, params)(ids)
    config = tiny_config(tie_word_embeddings=False)
    assert np.array_equal(BitNetModel(config, untied)(ids), logits)
    untied["lm_head.weight"] = untied["lm_head.weight"][::-1].copy()
    assert not np.allclose(BitNetModel(config, untied)(ids), logits)


def test_gemm_backend_serves_every_projection_with_its_name():
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=5))
    ids = np.arange(7)
    expected = model(ids)
    calls = []

    def backend(xq, wq):
        calls.append((model.current_projection, xq.shape, wq.shape))
        assert xq.dtype == np.int8 and wq.dtype == np.int8
        assert np.array_equal(wq, model.params[model.current_projection + ".weight"])
        return int_gemm(xq, wq)

    model.gemm = backend
    assert np.array_equal(model(ids), expected)
    assert [name for name, _, _ in calls] == projection_names(config)
    assert calls[0][1:] == ((7, 32), (32, 32)) and calls[1][1:] == ((7, 32), (16, 32))
    assert model.current_projection is None
    model.gemm = lambda xq, wq: int_gemm(xq, wq) + (model.current_projection.endswith("up_proj"))
    assert not np.array_equal(model(ids), expected)
    assert BitNetModel(config, model.params, gemm=backend).gemm is backend
    with pytest.raises(TypeError, match=r"^gemm must be callable, not int$"):
        model.gemm = 3


def test_params_validation():
    config = tiny_config()
    params = random_params(config, seed=6)
    assert set(params) == set(param_shapes(config))
    model = BitNetModel(config, params)
    assert model.params["model.layers.0.mlp.up_proj.weight"].dtype == np.int8
    with pytest.raises(ValueError, match="read-only"):
        model.params["model.norm.weight"][0] = 1
    cases = [
        ({"lm_head.weight": None}, ValueError, r"^params is missing 'lm_head.weight'$"),
        ({"extra": np.zeros(1)}, ValueError, r"^params has unexpected entry 'extra'$"),
        ({"model.norm.weight": np.ones(31)}, ValueError,
         r"^params\['model.norm.weight'\] must have shape \(32,\), got \(31,\)$"),
        ({"model.norm.weight": np.ones(32, bool)}, TypeError,
         r"^params\['model.norm.weight'\] must be a real numeric array, got bool$"),
        ({"model.norm.weight": np.full(32, np.nan)}, ValueError,
         r"^params\['model.norm.weight'\] must be finite in float32; found nan at \[0\]$"),
        ({"model.layers.1.mlp.up_proj.weight": np.full((48, 32), 2)}, ValueError,
         r"^params\['model.layers.1.mlp.up_proj.weight'\] must be ternary \(-1, 0, \+1\); "
         r"found 2 at \[0, 0\]$"),
        ({"model.layers.1.mlp.up_proj.gamma": np.float32(-1)}, ValueError,
         r"^params\['model.layers.1.mlp.up_proj.gamma'\] must be positive and finite in "
         r"float32, not -1.0$"),
    ]
    for change, error, message in cases:
        bad = {k: v for k, v in {**params, **change}.items() if v is not None}
        with pytest.raises(error, match=message):
            BitNetModel(config, bad)
    with pytest.raises(TypeError, match=r"^config must be a BitNetConfig, not dict$"):
        BitNetModel(config.to_dict(), params)


def test_forward_errors_leave_the_cache_unchanged():
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=7))
    cache = model.new_cache()
    model.forward(np.arange(36), cache)
    cases = [
        (np.array([1.0]), TypeError, r"^token_ids must be an integer array, got float64$"),
        (np.zeros((2, 2), int), ValueError,
         r"^token_ids must be a non-empty 1-D array \[T\], got shape \(2, 2\)$"),
        (np.array([3, 64]), ValueError, r"^token_ids must lie in \[0, 64\); found 64 at \[1\]$"),
        (np.arange(5), ValueError,
         r"^36 cached \+ 5 new positions exceed max_position_embeddings=40$"),
    ]
    for ids, error, message in cases:
        with pytest.raises(error, match=message):
            model.forward(ids, cache)
    model.gemm = lambda xq, wq: 1 / 0
    with pytest.raises(ZeroDivisionError):
        model.forward(np.arange(4), cache)
    assert cache.length == 36 and model.current_projection is None
    other = tiny_config(num_key_value_heads=4)
    with pytest.raises(ValueError, match=r"^cache belongs to a different configuration$"):
        model.forward([1], BitNetModel(other, random_params(other)).new_cache())
    with pytest.raises(TypeError, match=r"^cache must be a KVCache or None, not dict$"):
        model.forward([1], {})


# --- generation ---------------------------------------------------------------------------------


def test_greedy_generation_follows_the_full_prefill_argmax():
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=8))
    prompt = np.array([1, 9, 27, 4])
    new = model.generate(prompt, 12)
    assert new.dtype == np.int64 and new.shape == (12,)
    sequence = list(prompt)
    for _ in range(12):                       # recompute everything at each step, no cache
        sequence.append(int(np.argmax(model(np.array(sequence))[-1])))
    assert new.tolist() == sequence[4:]
    assert np.array_equal(model.generate(prompt, 12), new)
    assert np.array_equal(model.generate(prompt, 12, temperature=2.0, top_k=1, seed=1), new)
    assert model.generate(prompt, 0).shape == (0,)


def test_seeded_sampling_is_reproducible_and_stops_at_eos():
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=9))
    prompt = [2, 3]
    a = model.generate(prompt, 30, temperature=5.0, seed=11)
    assert np.array_equal(model.generate(prompt, 30, temperature=5.0, seed=11), a)
    assert not np.array_equal(model.generate(prompt, 30, temperature=5.0, seed=12), a)
    top3 = model.generate(prompt, 30, temperature=5.0, top_k=3, seed=11)
    sequence = list(prompt)
    for token in top3:                        # every sample is among the 3 largest logits
        assert token in np.argsort(-model(np.array(sequence))[-1], kind="stable")[:3]
        sequence.append(token)
    assert not np.array_equal(top3, a) and len(set(top3.tolist())) > 3
    greedy = model.generate(prompt, 10)
    eos_config = tiny_config(eos_token_id=int(greedy[3]))
    eos_model = BitNetModel(eos_config, model.params)
    stop = eos_model.generate(prompt, 10, stop_at_eos=True)
    first = greedy.tolist().index(greedy[3])
    assert stop.tolist() == greedy[:first + 1].tolist()
    assert np.array_equal(eos_model.generate(prompt, 10), greedy)


def test_generation_loop_returns_the_logits_that_chose_each_token_and_reports_its_passes():
    """The one loop (``steps``) behind generate, stream and the hardware co-simulation: the
    logits it returns equal a full forward pass over the sequence so far (no cache), and its
    hook sees the prefill (0) and then one pass per fed-back token."""
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=8))
    prompt = [1, 9, 27, 4]
    passes = []
    ids, logits = model.generate_with_logits(prompt, 5, on_forward=passes.append)
    assert passes == [0, 1, 2, 3, 4]                 # no pass after the last token
    assert ids.dtype == np.int64 and np.array_equal(ids, model.generate(prompt, 5))
    assert logits.dtype == np.float32 and logits.shape == (5, config.vocab_size)
    sequence = list(prompt)
    for step, token in enumerate(ids):
        assert np.array_equal(logits[step], model(np.array(sequence))[-1])
        sequence.append(int(token))
    assert list(model.stream(prompt, 5)) == ids.tolist()
    sampled, _ = model.generate_with_logits(prompt, 5, temperature=3.0, top_k=4, seed=2)
    assert np.array_equal(sampled, model.generate(prompt, 5, temperature=3.0, top_k=4, seed=2))
    eos_model = BitNetModel(tiny_config(eos_token_id=int(ids[1])), model.params)
    passes.clear()
    stopped, rows = eos_model.generate_with_logits(prompt, 5, stop_at_eos=True,
                                                   on_forward=passes.append)
    first = ids.tolist().index(ids[1])
    assert stopped.tolist() == ids[:first + 1].tolist() and passes == list(range(first + 1))
    assert np.array_equal(rows, logits[:first + 1])
    empty, no_rows = model.generate_with_logits(prompt, 0)
    assert empty.shape == (0,) and no_rows.shape == (0, config.vocab_size)
    with pytest.raises(TypeError, match=r"^on_forward must be callable or None, not int$"):
        model.steps(prompt, 2, on_forward=3)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(max_new_tokens=-1), ValueError, "max_new_tokens must be a non-negative integer, not -1"),
    (dict(temperature=-1.0), ValueError,
     "temperature must be a non-negative finite number, not -1.0"),
    (dict(temperature="hot"), TypeError, "temperature must be a number, not str"),
    (dict(top_k=0), ValueError, "top_k must be an integer from 1 to 64, not 0"),
    (dict(seed=-3), ValueError, "seed must be a non-negative integer, not -3"),
    (dict(max_new_tokens=39), ValueError,
     "2 prompt tokens + 39 new tokens exceed max_position_embeddings=40"),
])
def test_generate_errors(kwargs, error, message):
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=1))
    arguments = {"max_new_tokens": 3, **kwargs}
    count = arguments.pop("max_new_tokens")
    with pytest.raises(error, match="^" + re.escape(message) + "$"):
        model.generate([1, 2], count, **arguments)
    no_eos = BitNetModel(tiny_config(eos_token_id=None), model.params)
    with pytest.raises(ValueError, match=r"^stop_at_eos needs an eos_token_id in the config$"):
        no_eos.generate([1], 2, stop_at_eos=True)


def test_rope_theta_from_transformers5_rope_parameters():
    base = dict(vocab_size=16, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
                num_attention_heads=2)
    config = BitNetConfig.from_dict(dict(base, rope_parameters={"rope_theta": 10000.0,
                                                                "rope_type": "default"}))
    assert config.rope_theta == 10000.0
    assert BitNetConfig.from_dict(base).rope_theta == 500000.0
    with pytest.raises(ValueError, match=r"^rope_parameters.rope_type must be 'default', "
                                         r"not 'yarn'$"):
        BitNetConfig.from_dict(dict(base, rope_parameters={"rope_type": "yarn"}))
    with pytest.raises(ValueError, match=r"disagree$"):
        BitNetConfig.from_dict(dict(base, rope_theta=5.0, rope_parameters={"rope_theta": 6.0}))


# --- batched decode -----------------------------------------------------------------------------


BATCH_PROMPTS = [[7], [1, 9, 27, 4], list(range(10, 19)), [3, 3, 60, 2, 2, 8, 1]]   # 1, 4, 9, 7


def _recording(model):
    """A GEMM backend that records ``(pass, projection, xq)`` of every call."""
    calls, current = [], [None]

    def backend(xq, wq):
        calls.append((current[0], model.current_projection, xq.copy()))
        return int_gemm(xq, wq)

    def on_forward(step):
        current[0] = step
    return backend, on_forward, calls


@pytest.mark.parametrize("options", [
    dict(),
    dict(temperature=3.0, seed=17),
    dict(temperature=2.0, top_k=5, seed=[4, 5, 6, 7]),
], ids=["greedy", "sampled-one-seed", "top-k-seed-per-prompt"])
def test_batched_generation_equals_each_prompt_alone(options):
    """Every sequence's tokens and logits are bit-identical to generate_with_logits on its
    prompt alone (prompts of 1, 4, 9 and 7 tokens)."""
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=21))
    results = model.generate_batch_with_logits(BATCH_PROMPTS, 12, **options)
    assert len(results) == len(BATCH_PROMPTS)
    for i, (prompt, (ids, logits)) in enumerate(zip(BATCH_PROMPTS, results)):
        alone = dict(options)
        if isinstance(alone.get("seed"), list):
            alone["seed"] = alone["seed"][i]
        expected_ids, expected_logits = model.generate_with_logits(prompt, 12, **alone)
        assert ids.dtype == np.int64 and np.array_equal(ids, expected_ids), i
        assert logits.dtype == np.float32 and logits.shape == (12, config.vocab_size)
        assert np.array_equal(logits, expected_logits), i
    plain = model.generate_batch(BATCH_PROMPTS, 12, **options)
    assert all(np.array_equal(a, ids) for a, (ids, _) in zip(plain, results))
    if "seed" in options:                       # the sampling really depends on the seed
        other = model.generate_batch(BATCH_PROMPTS, 12, **dict(options, seed=99))
        assert any(not np.array_equal(a, b) for a, b in zip(plain, other))


def test_every_projection_of_a_decode_step_is_one_gemm_over_the_live_sequences():
    """Prefill: one GEMM per projection over all prompts stacked (M = 1 + 4 + 9 + 7); decode
    step i: one GEMM per projection with M = the live sequences, whose rows are exactly the
    rows each sequence's own GEMM gets when it is generated alone (per-token activation
    quantization keeps every row's scale). A sequence that meets its EOS leaves the batch."""
    config = tiny_config()
    model = BitNetModel(config, random_params(config, seed=21))
    greedy = [model.generate(prompt, 6) for prompt in BATCH_PROMPTS]
    eos = int(greedy[2][1])                     # prompt 2 stops after its second new token
    eos_model = BitNetModel(tiny_config(eos_token_id=eos), model.params)
    alone = [eos_model.generate(prompt, 6, stop_at_eos=True) for prompt in BATCH_PROMPTS]
    assert len(alone[2]) == 2 and any(len(ids) == 6 for ids in alone)
    backend, on_forward, calls = _recording(eos_model)
    eos_model.gemm = backend
    results = eos_model.generate_batch_with_logits(BATCH_PROMPTS, 6, stop_at_eos=True,
                                                   on_forward=on_forward)
    assert [ids.tolist() for ids, _ in results] == [ids.tolist() for ids in alone]
    names = projection_names(config)
    passes = sorted({step for step, _, _ in calls})
    assert passes == list(range(6))             # the prefill, then new tokens 1..5 fed back
    for step in passes:
        batch = [(name, xq) for s, name, xq in calls if s == step]
        assert [name for name, _ in batch] == names           # one GEMM per projection
        live = [i for i, ids in enumerate(alone) if len(ids) > step]
        rows = 21 if step == 0 else len(live)
        assert all(xq.shape[0] == rows for _, xq in batch), step
    assert len([c for c in calls if c[0] == 3 and c[1] == names[0]][0][2]) == 3  # 2 left
    for i, prompt in enumerate(BATCH_PROMPTS):  # the batch's rows are the solo run's rows
        solo_backend, solo_forward, solo = _recording(eos_model)
        eos_model.gemm = solo_backend
        eos_model.generate_with_logits(prompt, 6, stop_at_eos=True, on_forward=solo_forward)
        for step, name, xq in solo:
            live = [j for j, ids in enumerate(alone) if len(ids) > step]
            if step == 0:
                lo = sum(len(p) for p in BATCH_PROMPTS[:i])
                rows = slice(lo, lo + len(prompt))
            else:
                rows = slice(live.index(i), live.index(i) + 1)
            batch = [b for s, n, b in calls if s == step and n == name][0]
            assert np.array_equal(batch[rows], xq), (i, step, name)


def test_forward_batch_equals_forward_with_caches_of_different_lengths(rng):
    config = tiny_config(num_key_value_heads=1)
    model = BitNetModel(config, random_params(config, seed=22))
    history = [rng.integers(0, config.vocab_size, n) for n in (0, 3, 11)]
    new = [rng.integers(0, config.vocab_size, n) for n in (5, 1, 2)]

    def caches():
        made = []
        for past in history:
            cache = model.new_cache()
            if past.size:
                model.forward(past, cache)
            made.append(cache)
        return made
    batch_caches = caches()
    got = model.forward_batch(new, batch_caches)
    assert [c.length for c in batch_caches] == [5, 4, 13]
    for past, ids, logits in zip(history, new, got):
        full = model(np.concatenate([past, ids]).astype(np.int64))
        assert logits.dtype == np.float32 and np.array_equal(logits, full[past.size:])
    last = model.forward_batch(new, caches(), last_only=True)
    assert [x.shape for x in last] == [(1, config.vocab_size)] * 3
    assert all(np.array_equal(a, b[-1:]) for a, b in zip(last, got))


def _refusing(config):
    model = BitNetModel(config, random_params(config, seed=1))

    def refuse(xq, wq):
        raise AssertionError("a GEMM ran")
    model.gemm = refuse
    return model


@pytest.mark.parametrize("prompts, kwargs, error, message", [
    ([], {}, ValueError, "prompts must hold at least one prompt"),
    ((), {}, ValueError, "prompts must hold at least one prompt"),
    (5, {}, TypeError, "prompts must be a list of token id arrays, not int"),
    ([[1, 2], list(range(30))], dict(max_new_tokens=11), ValueError,
     "prompts[1]: 30 prompt tokens + 11 new tokens exceed max_position_embeddings=40"),
    ([[1], [2, 64]], {}, ValueError, "prompts[1] must lie in [0, 64); found 64 at [1]"),
    ([[1], np.array([], np.int64)], {}, ValueError,
     "prompts[1] must be a non-empty 1-D array [T], got shape (0,)"),
    ([[1], [1.5]], {}, TypeError, "prompts[1] must be an integer array, got float64"),
    ([[1], [2]], dict(seed=[1, 2, 3]), ValueError, "seed has 3 entries for 2 prompts"),
    ([[1], [2]], dict(seed=[1, -1]), ValueError,
     "seed[1] must be a non-negative integer, not -1"),
    ([[1], [2]], dict(seed="s"), TypeError,
     "seed must be None, an integer or a list of one integer per prompt, not str"),
    ([[1], [2]], dict(seed=-2), ValueError, "seed must be a non-negative integer, not -2"),
    ([[1], [2]], dict(top_k=65), ValueError, "top_k must be an integer from 1 to 64, not 65"),
    ([[1], [2]], dict(max_new_tokens=-1), ValueError,
     "max_new_tokens must be a non-negative integer, not -1"),
])
def test_batch_errors_come_before_any_computation(prompts, kwargs, error, message):
    model = _refusing(tiny_config())
    arguments = {"max_new_tokens": 3, **kwargs}
    count = arguments.pop("max_new_tokens")
    for call in (model.generate_batch, model.generate_batch_with_logits, model.steps_batch):
        with pytest.raises(error, match="^" + re.escape(message) + "$"):
            call(prompts, count, **arguments)
    assert [ids.shape for ids in model.generate_batch([[1], [2]], 0)] == [(0,), (0,)]


def test_forward_batch_errors():
    config = tiny_config()
    model = _refusing(config)
    cache = model.new_cache()
    other = tiny_config(num_key_value_heads=4)
    cases = [
        ([], [], ValueError, "token_ids must hold at least one sequence"),
        (3, [cache], TypeError, "token_ids must be a list of token id arrays, not int"),
        ([[1]], {}, TypeError, "caches must be a list of KVCache, not dict"),
        ([[1], [2]], [cache], ValueError, "caches has 1 entries for 2 sequences"),
        ([[1], [2]], [cache, {}], TypeError, "caches[1] must be a KVCache, not dict"),
        ([[1], [2], [3]], [cache, model.new_cache(), cache], ValueError,
         "caches[0] and caches[2] are the same cache"),
        ([[1]], [BitNetModel(other, random_params(other)).new_cache()], ValueError,
         "caches[0] belongs to a different configuration"),
        ([[1], np.arange(41)], [cache, model.new_cache()], ValueError,
         "token_ids[1]: 0 cached + 41 new positions exceed max_position_embeddings=40"),
    ]
    for ids, caches, error, message in cases:
        with pytest.raises(error, match="^" + re.escape(message) + "$"):
            model.forward_batch(ids, caches)
    assert cache.length == 0
