"""The 2B-4T-shaped random checkpoint (golden.synthetic) and the shard-by-shard saver.

The full 2B checkpoint is a benchmark (benchmarks/golden_2b_decode.py); here the same code
path writes a scaled-down checkpoint of the same structure (tied embeddings, grouped-query
attention, bitlinear scales, one shard per layer), which must load through
``load_checkpoint`` and run with logits equal to those of a model built directly from the
generated params with an int64 reference GEMM.
"""

import json
import os

import numpy as np
import pytest

from golden import BitNetConfig, BitNetModel, CheckpointError, load_checkpoint, param_shapes
from golden.checkpoint import save_checkpoint_shards
from golden.synthetic import BITNET_2B_4T_CONFIG, main, shards, write_checkpoint

SMALL = dict(vocab_size=300, hidden_size=64, intermediate_size=172, num_attention_heads=4,
             num_key_value_heads=1, num_hidden_layers=3)


def small_config():
    return BitNetConfig.from_dict(dict(BITNET_2B_4T_CONFIG, **SMALL))


def int64_gemm(xq, wq):
    return xq.astype(np.int64) @ wq.astype(np.int64).T


def test_the_2b_4t_config_is_the_published_one():
    c = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
    assert (c.vocab_size, c.hidden_size, c.intermediate_size, c.num_hidden_layers) == \
        (128256, 2560, 6912, 30)
    assert (c.num_attention_heads, c.num_key_value_heads, c.head_dim) == (20, 5, 128)
    assert (c.rope_theta, c.rms_norm_eps, c.max_position_embeddings) == (500000.0, 1e-5, 4096)
    assert c.tie_word_embeddings is True
    assert (c.bos_token_id, c.eos_token_id) == (128000, 128001)
    assert BITNET_2B_4T_CONFIG["quantization_config"]["linear_class"] == "bitlinear"
    ternary = sum(np.prod(shape) for shape, kind in param_shapes(c).values() if kind == "ternary")
    assert ternary == 30 * (2 * 2560 * 2560 + 2 * 640 * 2560 + 3 * 6912 * 2560) == 2_084_044_800
    assert "lm_head.weight" not in param_shapes(c)


def test_small_checkpoint_of_the_same_structure_loads_and_runs(tmp_path):
    config = small_config()
    write_checkpoint(tmp_path, config, seed=5)
    files = sorted(os.listdir(tmp_path))
    assert files == ["config.json"] + [f"model-{i:05d}-of-00004.safetensors"
                                       for i in range(1, 5)] + ["model.safetensors.index.json"]
    written = json.loads((tmp_path / "config.json").read_text())
    for key, value in BITNET_2B_4T_CONFIG.items():
        if key not in ("initializer_range", "use_cache", "torch_dtype"):
            assert written[key] == SMALL.get(key, value), key
    assert written["torch_dtype"] == "float32"
    index = json.loads((tmp_path / "model.safetensors.index.json").read_text())
    assert index["weight_map"]["model.layers.1.mlp.up_proj.weight"] == \
        "model-00003-of-00004.safetensors"
    assert index["metadata"]["total_size"] == sum(
        os.path.getsize(tmp_path / name) for name in files if name.startswith("model-"))

    model = load_checkpoint(tmp_path)
    assert model.config == config
    params = {name: value for shard in shards(config, seed=5) for name, value in shard.items()}
    assert set(params) == set(model.params)
    for name, value in params.items():
        assert np.array_equal(model.params[name], value), name
    reference = BitNetModel(config, params, gemm=int64_gemm)
    prompt = [7, 299, 0, 42]
    ids, logits = model.generate_with_logits(prompt, 4)
    ref_ids, ref_logits = reference.generate_with_logits(prompt, 4)
    assert np.array_equal(ids, ref_ids)
    assert np.array_equal(logits, ref_logits)
    assert np.isfinite(logits).all() and logits.std() > 0


def test_shards_are_seeded_and_independent():
    config = small_config()
    a, b, c = (list(shards(config, seed=s)) for s in (1, 1, 2))
    assert len(a) == 4
    for x, y in zip(a, b):
        assert all(np.array_equal(x[k], y[k]) for k in x)
    assert not np.array_equal(a[1]["model.layers.0.self_attn.q_proj.weight"],
                              c[1]["model.layers.0.self_attn.q_proj.weight"])
    w = a[2]["model.layers.1.mlp.down_proj.weight"]
    assert w.dtype == np.int8 and set(np.unique(w)) == {-1, 0, 1}
    gamma = a[2]["model.layers.1.mlp.down_proj.gamma"]
    assert 0.8 <= 1 / (gamma * np.sqrt(172)) < 1.25 + 1e-6


@pytest.mark.parametrize("arguments, exception, message", [
    (({"hidden_size": 4}, []), TypeError, r"^config must be a BitNetConfig, not dict$"),
    ((None, [[1]]), TypeError, r"^shard 1 must be a mapping of names to arrays, not list$"),
    ((None, [{"x": 1}]), ValueError, r"^shard 1 has unexpected entry 'x'$"),
    ((None, "first then repeat"), ValueError, r"^shard 2 repeats 'model.norm.weight'$"),
    ((None, "weight alone"), ValueError,
     r"^shard 1 has model.layers.0.self_attn.q_proj.weight without its gamma$"),
    ((None, "gamma alone"), ValueError,
     r"^shard 1 has model.layers.0.self_attn.q_proj.gamma without its weight$"),
    ((None, "missing"), ValueError, r"^the shards are missing 'model.layers.2.mlp.down_proj.weight'$"),
    ((None, "bad shape"), ValueError,
     r"^params\['model.norm.weight'\] must have shape \(64,\), got \(3,\)$"),
])
def test_shard_saver_errors_leave_no_loadable_checkpoint(tmp_path, arguments, exception, message):
    config = small_config()
    given, parts = arguments
    full = list(shards(config, seed=0))
    q = "model.layers.0.self_attn.q_proj"
    table = {"first then repeat": [full[0], {"model.norm.weight": full[0]["model.norm.weight"]}],
             "weight alone": [{f"{q}.weight": full[1][f"{q}.weight"]}],
             "gamma alone": [{f"{q}.gamma": full[1][f"{q}.gamma"]}],
             "missing": full[:-1] + [{k: v for k, v in full[-1].items()
                                      if not k.startswith("model.layers.2.mlp.down_proj")}],
             "bad shape": [{"model.norm.weight": np.ones(3, np.float32)}]}
    parts = table[parts] if isinstance(parts, str) else parts
    with pytest.raises(exception, match=message):
        save_checkpoint_shards(config if given is None else given, iter(parts), tmp_path)
    assert not (tmp_path / "model.safetensors.index.json").exists()
    if (tmp_path / "config.json").exists():
        with pytest.raises(CheckpointError, match="no model.safetensors or"):
            load_checkpoint(tmp_path)


def test_shards_replace_a_single_file_checkpoint(tmp_path):
    # A model.safetensors left in the folder would be read instead of the new shards.
    config = small_config()
    (tmp_path / "model.safetensors").write_bytes(b"stale")
    write_checkpoint(tmp_path, config, seed=1)
    assert not (tmp_path / "model.safetensors").exists()
    assert load_checkpoint(tmp_path).config == config


@pytest.mark.parametrize("argv, message", [
    (["--layers", "0", "x"], "argument --layers: expected an integer from 1 to 30, not '0'"),
    (["--seed", "-1", "x"], "argument --seed: expected an integer from 0 to"),
    ([], "the following arguments are required: folder"),
])
def test_cli_errors_are_one_line(capsys, argv, message):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("python -m golden.synthetic: error: ")
    assert message in lines[0]


def test_cli_refuses_a_file_as_folder(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("")
    assert main([str(target)]) == 2
    assert capsys.readouterr().err == (f"python -m golden.synthetic: error: output folder "
                                       f"{str(target)!r} exists and is not a folder\n")
