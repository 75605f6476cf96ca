"""Tests for golden.checkpoint, golden.tokenizer and ``python -m golden.generate``.

Checkpoints are written here byte by byte (``write_safetensors``: 8-byte header length, JSON
header, raw little-endian data), independently of the loader and of ``safetensors``' writer,
with known ternary weights ``t`` and scales ``s``; BF16 values are float32 values whose low 16
bits are zero, so they are exact in both types.
"""

import json
import os
import pathlib
import re
import struct
import subprocess
import sys

import numpy as np
import pytest
import tokenizers
from safetensors.numpy import load_file

from golden import (BitNetConfig, BitNetModel, CheckpointError, Tokenizer, load_checkpoint,
                    pack_i2, param_shapes, quantize_weights, random_params, save_checkpoint)
from golden.generate import main

SEED = 0xC4E7
ROOT = pathlib.Path(__file__).resolve().parent.parent
CONFIG = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet", "vocab_size": 16,
          "hidden_size": 8, "intermediate_size": 12, "num_hidden_layers": 2,
          "num_attention_heads": 2, "num_key_value_heads": 1, "max_position_embeddings": 32,
          "rope_theta": 10000.0, "tie_word_embeddings": False, "eos_token_id": 1,
          "quantization_config": {"quant_method": "bitnet", "linear_class": "bitlinear",
                                  "quantization_mode": "offline"}}
CODES = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.uint8): "U8",
         np.dtype(np.int8): "I8", np.dtype(np.int32): "I32"}


def write_safetensors(path, tensors):
    """``tensors``: name -> array, or ``("BF16", float32 array)`` stored as its high 16 bits."""
    header, blobs, offset = {}, [], 0
    for name, value in tensors.items():
        if isinstance(value, tuple):
            value = np.asarray(value[1], np.float32)
            code, blob = "BF16", (value.view(np.uint32) >> 16).astype("<u2").tobytes()
        else:
            code, blob = CODES[value.dtype], np.ascontiguousarray(value).tobytes()
        header[name] = {"dtype": code, "shape": list(value.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    pathlib.Path(path).write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def bf16_exact(rng, shape, low=0.5, high=1.5):
    return (rng.uniform(low, high, shape).astype(np.float32).view(np.uint32)
            & np.uint32(0xFFFF0000)).view(np.float32)


def make_checkpoint(folder, rng, *, config=None, linear_class="bitlinear"):
    """A packed checkpoint with random ``t`` and ``s``; returns ``(tensors, {proj: (t, s)})``."""
    config = dict(CONFIG if config is None else config)
    config["quantization_config"] = dict(config["quantization_config"], linear_class=linear_class)
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    tensors, truth = {}, {}
    for name, (shape, kind) in param_shapes(BitNetConfig.from_dict(config)).items():
        if kind == "float":
            tensors[name] = bf16_exact(rng, shape)
        elif kind == "ternary":
            t = rng.integers(-1, 2, shape).astype(np.int8)
            s = np.float32(2.0 ** rng.integers(-3, 4) * rng.choice([1.0, 1.25, 1.5, 1.75]))
            prefix = name[:-len(".weight")]
            tensors[name] = pack_i2(t)
            tensors[f"{prefix}.weight_scale"] = np.array([s], np.float32)
            truth[prefix] = (t, s)
    write_safetensors(folder / "model.safetensors", tensors)
    return tensors, truth


@pytest.fixture
def rng():
    print(f"numpy seed: {SEED:#x}")
    return np.random.default_rng(SEED)


# --- formats and scale conventions --------------------------------------------------------------


@pytest.mark.parametrize("linear_class", ["bitlinear", "autobitlinear"])
def test_packed_weights_and_scale_convention(tmp_path, rng, linear_class):
    tensors, truth = make_checkpoint(tmp_path, rng, linear_class=linear_class)
    model = load_checkpoint(tmp_path)
    for prefix, (t, s) in truth.items():
        assert np.array_equal(model.params[f"{prefix}.weight"], t)
        gamma = model.params[f"{prefix}.gamma"]
        # bitlinear: y / (x_scale * s), W = t / s;  autobitlinear: linear(x, t) * s, W = t * s
        assert gamma == (np.float32(1) / s if linear_class == "bitlinear" else s)
    assert model.params["model.norm.weight"].tolist() == tensors["model.norm.weight"].tolist()
    assert model.tokenizer is None


def test_one_hand_worked_scale(tmp_path, rng):
    _, truth = make_checkpoint(tmp_path, rng)
    data = load_file(tmp_path / "model.safetensors")
    data["model.layers.0.mlp.up_proj.weight_scale"] = np.array([4.0], np.float32)
    write_safetensors(tmp_path / "model.safetensors", data)
    assert load_checkpoint(tmp_path).params["model.layers.0.mlp.up_proj.gamma"] == 0.25
    config = json.loads((tmp_path / "config.json").read_text())
    config["quantization_config"]["linear_class"] = "autobitlinear"
    (tmp_path / "config.json").write_text(json.dumps(config))
    assert load_checkpoint(tmp_path).params["model.layers.0.mlp.up_proj.gamma"] == 4.0


def test_bf16_f16_latent_and_unpacked_weights(tmp_path, rng):
    tensors, truth = make_checkpoint(tmp_path, rng)
    embed = bf16_exact(rng, (16, 8), -2, 2)
    tensors["model.embed_tokens.weight"] = ("BF16", embed)
    tensors["model.norm.weight"] = tensors["model.norm.weight"].astype(np.float16)
    latent = bf16_exact(rng, (12, 8), -1, 1)
    tensors["model.layers.0.mlp.gate_proj.weight"] = ("BF16", latent)
    del tensors["model.layers.0.mlp.gate_proj.weight_scale"]
    t, s = truth["model.layers.1.self_attn.v_proj"]
    tensors["model.layers.1.self_attn.v_proj.weight"] = t.astype(np.float32)
    write_safetensors(tmp_path / "model.safetensors", tensors)
    params = load_checkpoint(tmp_path).params
    assert np.array_equal(params["model.embed_tokens.weight"], embed)
    assert params["model.norm.weight"].dtype == np.float32
    assert np.array_equal(params["model.norm.weight"], tensors["model.norm.weight"])
    wq, gamma = quantize_weights(latent)
    assert np.array_equal(params["model.layers.0.mlp.gate_proj.weight"], wq)
    assert params["model.layers.0.mlp.gate_proj.gamma"] == gamma
    assert np.array_equal(params["model.layers.1.self_attn.v_proj.weight"], t)
    assert params["model.layers.1.self_attn.v_proj.gamma"] == np.float32(1) / s


def test_sharded_checkpoint_equals_single_file(tmp_path, rng):
    tensors, _ = make_checkpoint(tmp_path / "single", rng)
    folder = tmp_path / "sharded"
    folder.mkdir()
    (folder / "config.json").write_text((tmp_path / "single" / "config.json").read_text())
    names = sorted(tensors)
    shards = {"model-00001-of-00002.safetensors": names[::2],
              "model-00002-of-00002.safetensors": names[1::2]}
    for shard, members in shards.items():
        write_safetensors(folder / shard, {n: tensors[n] for n in members})
    index = {"metadata": {}, "weight_map": {n: s for s, m in shards.items() for n in m}}
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    single, sharded = load_checkpoint(tmp_path / "single"), load_checkpoint(folder)
    assert all(np.array_equal(single.params[k], sharded.params[k]) for k in single.params)


def test_load_save_load_is_exact(tmp_path, rng):
    make_checkpoint(tmp_path / "a", rng)
    first = load_checkpoint(tmp_path / "a")
    save_checkpoint(first, tmp_path / "b", linear_class="bitlinear")
    second = load_checkpoint(tmp_path / "b")
    save_checkpoint(second, tmp_path / "c", linear_class="bitlinear")
    b, c = (load_file(tmp_path / name / "model.safetensors") for name in "bc")
    assert sorted(b) == sorted(c) and all(np.array_equal(b[k], c[k]) for k in b)
    a = load_file(tmp_path / "a" / "model.safetensors")
    assert all(np.array_equal(a[k], b[k]) for k in a if k.endswith("proj.weight"))  # out % 4 == 0
    assert all(np.array_equal(first.params[k], second.params[k]) for k in first.params)
    ids = np.arange(10)
    assert np.array_equal(first(ids), second(ids))
    saved = json.loads((tmp_path / "b" / "config.json").read_text())
    assert saved["quantization_config"] == {"quant_method": "bitnet", "linear_class": "bitlinear",
                                            "quantization_mode": "offline"}
    assert BitNetConfig.from_dict(saved) == first.config


def test_random_model_round_trip_and_inexact_bitlinear_gamma(tmp_path):
    config = BitNetConfig.from_dict(dict(CONFIG, tie_word_embeddings=True))
    params = random_params(config, seed=2)
    for i, name in enumerate(n for n in params if n.endswith(".gamma")):
        params[name] = np.float32(1) / np.float32(3 + i)   # a float32 reciprocal: reachable
    # 1.9999999 (0x3FFFFFFF): no float32 s within 8 ulps of 1/gamma has float32(1)/s == gamma
    gamma = np.uint32(0x3FFFFFFF).view(np.float32)
    near = [np.float32(1) / gamma] * 2
    for _ in range(8):
        near += [np.nextafter(near[-2], np.float32(0)), np.nextafter(near[-1], np.float32(9))]
    assert not any(np.float32(1) / s == gamma for s in near)
    params["model.layers.1.mlp.down_proj.gamma"] = gamma
    model = BitNetModel(config, params)
    with pytest.raises(ValueError, match=r"^cannot save model.layers.1.mlp.down_proj with "
                       r"linear_class='bitlinear': no float32 weight_scale s gives 1/s == gamma "
                       r"\(1.9999998807907104\); use linear_class='autobitlinear'$"):
        save_checkpoint(model, tmp_path, linear_class="bitlinear")
    params["model.layers.1.mlp.down_proj.gamma"] = np.float32(0.5)
    save_checkpoint(BitNetModel(config, params), tmp_path,          # all gammas reachable
                    linear_class="bitlinear")
    assert load_checkpoint(tmp_path).params["model.layers.0.self_attn.q_proj.gamma"] == \
        params["model.layers.0.self_attn.q_proj.gamma"]
    save_checkpoint(model, tmp_path, linear_class="autobitlinear")
    loaded = load_checkpoint(tmp_path)
    assert "lm_head.weight" not in load_file(tmp_path / "model.safetensors")
    assert all(np.array_equal(model.params[k], loaded.params[k]) for k in model.params)
    with pytest.raises(ValueError, match=r"^linear_class must be 'bitlinear' or 'autobitlinear', "
                       r"not 'BitLinear'$"):
        save_checkpoint(model, tmp_path, linear_class="BitLinear")


# --- bad files ----------------------------------------------------------------------------------


def _edit_tensors(folder, changes):
    """Rewrite model.safetensors with ``changes`` (name -> array, or None to delete)."""
    data = load_file(folder / "model.safetensors")
    for name, value in changes.items():
        if value is None:
            del data[name]
        else:
            data[name] = value
    write_safetensors(folder / "model.safetensors", data)


def _edit_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    config.update(changes)
    (folder / "config.json").write_text(json.dumps(config))


def _corrupt_code(folder):
    packed = load_file(folder / "model.safetensors")["model.layers.1.mlp.up_proj.weight"].copy()
    packed[2, 5] |= 0b00110000
    _edit_tensors(folder, {"model.layers.1.mlp.up_proj.weight": packed})


Q_PROJ = "model.layers.0.self_attn.q_proj.weight"
DOWN = "model.layers.0.mlp.down_proj.weight"
DOWN_SCALE = "model.layers.0.mlp.down_proj.weight_scale"
BAD_FILES = [
    (lambda f: _edit_tensors(f, {"model.norm.weight": None}),
     "model.safetensors: missing tensor 'model.norm.weight'"),
    (lambda f: _edit_tensors(f, {"model.norm.weight": np.ones(7, np.float32)}),
     "model.safetensors: tensor 'model.norm.weight' has shape (7,); expected (8,)"),
    (lambda f: _edit_tensors(f, {"model.norm.weight": np.ones(8, np.int32)}),
     "model.safetensors: tensor 'model.norm.weight' has dtype I32; expected F32, F16 or BF16"),
    (lambda f: _edit_tensors(f, {"model.embed_tokens.weight": np.full((16, 8), np.inf, "f4")}),
     "model.safetensors: tensor 'model.embed_tokens.weight' must be finite; found inf at [0, 0]"),
    (lambda f: _edit_tensors(f, {Q_PROJ: np.zeros((3, 8), np.uint8)}),
     "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' has shape (3, 8); "
     "expected (2, 8) (packed i2 for 8 output rows)"),
    (lambda f: _edit_tensors(f, {Q_PROJ: np.zeros((8, 8), np.int8)}),
     "model.safetensors: tensor 'model.layers.0.self_attn.q_proj.weight' has dtype I8; "
     "expected U8 (packed i2), F32, F16 or BF16"),
    (_corrupt_code, "model.safetensors: tensor 'model.layers.1.mlp.up_proj.weight': "
     "invalid i2 code 3 at packed[2, 5] bits [5:4]"),
    (lambda f: _edit_tensors(f, {DOWN_SCALE: None}),
     "model.safetensors: missing tensor 'model.layers.0.mlp.down_proj.weight_scale'"),
    (lambda f: _edit_tensors(f, {DOWN_SCALE: np.zeros(1, np.float32)}),
     "model.safetensors: tensor 'model.layers.0.mlp.down_proj.weight_scale' must be positive "
     "with a finite reciprocal, not 0.0"),
    (lambda f: _edit_tensors(f, {DOWN_SCALE: np.ones(2, np.float32)}),
     "model.safetensors: tensor 'model.layers.0.mlp.down_proj.weight_scale' has dtype F32 and "
     "shape (2,); expected a float of shape (1,)"),
    (lambda f: _edit_tensors(f, {DOWN: np.full((8, 12), 0.5, np.float32)}),
     "model.safetensors: tensor 'model.layers.0.mlp.down_proj.weight' has a weight_scale, so it "
     "must hold -1, 0 or +1; found 0.5 at [0, 0]"),
    (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:-10]),
     "model.safetensors: not a valid safetensors file (Error while deserializing header: "),
    (lambda f: (f / "model.safetensors").write_bytes(b"\x00" * 4),
     "model.safetensors: not a valid safetensors file ("),
    (lambda f: os.remove(f / "model.safetensors"),
     ": no model.safetensors or model.safetensors.index.json"),
    (lambda f: os.remove(f / "config.json"), "config.json: file not found"),
    (lambda f: (f / "config.json").write_text("{\"vocab_size\": 16,"),
     "config.json: invalid JSON ("),
    (lambda f: _edit_config(f, hidden_size=None),
     "config.json: missing required field 'hidden_size'"),
    (lambda f: _edit_config(f, num_key_value_heads=3),
     "config.json: num_attention_heads 2 is not a multiple of num_key_value_heads 3"),
    (lambda f: _edit_config(f, num_attention_heads=3, num_key_value_heads=1),
     "config.json: hidden_size 8 is not divisible by num_attention_heads 3"),
    (lambda f: _edit_config(f, quantization_config={"quant_method": "bitnet", "linear_class": "x"}),
     "config.json: quantization_config.linear_class must be 'bitlinear' or 'autobitlinear', "
     "not 'x'"),
    (lambda f: (f / "tokenizer.json").write_text("{}"),
     "tokenizer.json: not a valid tokenizer.json ("),
]


@pytest.mark.parametrize("damage, message", BAD_FILES)
def test_bad_checkpoint_files(tmp_path, rng, damage, message):
    make_checkpoint(tmp_path, rng)
    damage(tmp_path)
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(tmp_path)
    assert isinstance(info.value, ValueError)
    text = str(info.value)
    assert text.startswith(str(tmp_path)) and message in text and "\n" not in text


def test_bad_sharded_index(tmp_path, rng):
    tensors, _ = make_checkpoint(tmp_path, rng)
    os.remove(tmp_path / "model.safetensors")
    index = tmp_path / "model.safetensors.index.json"
    names = sorted(tensors)
    write_safetensors(tmp_path / "one.safetensors", {n: tensors[n] for n in names[1:]})
    cases = [
        ({n: "one.safetensors" for n in names[1:]},
         f"{index}: missing tensor {names[0]!r}"),
        ({n: "one.safetensors" for n in names},
         f"{tmp_path / 'one.safetensors'}: missing tensor {names[0]!r} "
         f"(listed in model.safetensors.index.json)"),
        (dict({n: "one.safetensors" for n in names}, **{names[0]: "two.safetensors"}),
         f"{tmp_path / 'two.safetensors'}: file not found "
         f"(listed in model.safetensors.index.json)"),
        (dict({n: "one.safetensors" for n in names}, **{names[0]: "../x.safetensors"}),
         f"{index}: shard '../x.safetensors' must be a file name"),
        ([1, 2], f"{index}: weight_map must map tensor names to file names"),
    ]
    for weight_map, message in cases:
        index.write_text(json.dumps({"weight_map": weight_map}))
        with pytest.raises(CheckpointError, match="^" + re.escape(message) + "$"):
            load_checkpoint(tmp_path)
    with pytest.raises(CheckpointError, match=r": not a checkpoint folder$"):
        load_checkpoint(tmp_path / "nowhere")


# --- tokenizer and command line -----------------------------------------------------------------

WORDS = ["<s>", "</s>", "<unk>", "the", "cat", "sat", "on", "mat", "a", "dog", "ran", "to",
         "red", "big", "and", "."]


def write_tokenizer(path):
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel(
        {w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    backend.add_special_tokens(["<s>", "</s>"])
    backend.post_processor = tokenizers.processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", 0)])
    backend.save(str(path))


def test_tokenizer_is_attached_and_saved(tmp_path, rng):
    make_checkpoint(tmp_path / "a", rng)
    write_tokenizer(tmp_path / "a" / "tokenizer.json")
    model = load_checkpoint(tmp_path / "a")
    assert isinstance(model.tokenizer, Tokenizer) and model.tokenizer.vocab_size == 16
    ids = model.tokenizer.encode("the cat sat")
    assert ids.dtype == np.int64 and ids.tolist() == [0, 3, 4, 5]
    assert model.tokenizer.decode(ids) == "the cat sat"
    assert model.tokenizer.decode([0, 9, 1], skip_special_tokens=False) == "<s> dog </s>"
    save_checkpoint(model, tmp_path / "b")
    assert load_checkpoint(tmp_path / "b").tokenizer.encode("a dog").tolist() == [0, 8, 9]
    with pytest.raises(TypeError, match=r"^text must be a str, not bytes$"):
        model.tokenizer.encode(b"cat")
    with pytest.raises(ValueError, match=r"^token ids must be non-negative; found -1 at \[1\]$"):
        model.tokenizer.decode([3, -1])


def test_command_line_generates_ids_and_text(tmp_path, rng, capsys):
    make_checkpoint(tmp_path, rng)
    model = load_checkpoint(tmp_path)
    expected = model.generate([0, 3, 4], 6)
    base = ["--checkpoint", str(tmp_path), "--max-new-tokens", "6"]
    assert main([*base, "--prompt-ids", "0,3,4"]) == 0
    out, err = capsys.readouterr()
    assert out == ",".join(map(str, expected)) + "\n"
    assert re.fullmatch(r"prefill 3 tokens in \S+ s; decode 5 tokens in \S+ s \(\S+ tokens/s\); "
                        r"\S+ new tokens/s overall\n", err)
    sampled = model.generate([0, 3, 4], 6, temperature=1.5, top_k=4, seed=7)
    assert main([*base, "--prompt-ids", "0,3,4", "--temperature", "1.5", "--top-k", "4",
                 "--seed", "7"]) == 0
    assert capsys.readouterr().out == ",".join(map(str, sampled)) + "\n"
    write_tokenizer(tmp_path / "tokenizer.json")
    assert main([*base, "--prompt", "the cat"]) == 0
    assert capsys.readouterr().out == load_checkpoint(tmp_path).tokenizer.decode(expected) + "\n"


@pytest.mark.parametrize("args, message", [
    (["--prompt-ids", "0,3,x", "--max-new-tokens", "2"],
     "argument --prompt-ids: expected comma-separated integers, not '0,3,x'"),
    (["--prompt-ids", "0", "--prompt", "cat", "--max-new-tokens", "2"],
     "argument --prompt: not allowed with argument --prompt-ids"),
    (["--prompt", "cat", "--max-new-tokens", "2"], "--prompt needs a tokenizer.json in "),
    (["--prompt-ids", "0,16", "--max-new-tokens", "2"],
     "prompt token ids must lie in [0, 16); found 16 at [1]"),
    (["--prompt-ids", "0", "--max-new-tokens", "-1"],
     "argument --max-new-tokens: expected an integer of at least 1, not '-1'"),
    (["--prompt-ids", "0", "--max-new-tokens", "40"],
     "1 prompt tokens + 40 new tokens exceed max_position_embeddings=32"),
    (["--prompt-ids", "0", "--max-new-tokens", "2", "--temperature", "1", "--top-k", "0"],
     "--top-k must be an integer from 1 to 16, not 0"),
    (["--prompt-ids", "0", "--max-new-tokens", "2", "--temperature", "warm"],
     "argument --temperature: expected a number, not 'warm'"),
    (["--prompt-ids", "0"], "the following arguments are required: --max-new-tokens"),
])
def test_command_line_errors_are_one_line(tmp_path, rng, capsys, args, message):
    make_checkpoint(tmp_path, rng)
    assert main(["--checkpoint", str(tmp_path), *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1
    assert err.startswith("python -m golden.generate: error: ") and message in err


def test_command_line_as_a_module(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "golden.generate", "--checkpoint", str(tmp_path / "none"),
               "--prompt-ids", "1", "--max-new-tokens", "2"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"python -m golden.generate: error: {tmp_path / 'none'}: "
                             f"not a checkpoint folder\n")
