"""Property tests (Hypothesis) of the checkpoint loader against mutated checkpoint folders.

A small valid checkpoint is written by :func:`golden.save_checkpoint` (both scale
conventions); each example then rewrites tensors (another dtype, shape or name, special
values, dropped or extra tensors), edits ``config.json`` (any key set to any JSON value or
deleted, contradictory sizes, bytes truncated or flipped) and damages the safetensors bytes
(truncated, bit-flipped, its header length or header text resized, bytes appended).

Every load must either fail with a one-line :class:`golden.CheckpointError` that starts with
the file's path and names the tensor or the field (or says the whole file is unreadable),
within a time limit and a memory cap (no other exception, no hang, no large allocation), or
succeed with exactly the tensors that an independent reader written here finds in the bytes:
its own safetensors parser, BF16/F16 decoding and i2 unpacking, and the scale convention
read from the raw ``config.json``. Example counts: ``tests/fuzzing.py`` profiles.
"""

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import struct

import numpy as np
import pytest
from hypothesis import event, given, strategies as st

from fuzzing import examples
from golden import (BitNetConfig, BitNetModel, CheckpointError, load_checkpoint, param_shapes,
                    quantize_weights, random_params, save_checkpoint)

CONFIG = dict(vocab_size=6, hidden_size=4, intermediate_size=6, num_hidden_layers=2,
              num_attention_heads=2, num_key_value_heads=1, max_position_embeddings=8,
              eos_token_id=1)
FIELDS = ["vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
          "num_attention_heads", "num_key_value_heads", "head_dim", "rms_norm_eps",
          "rope_theta", "max_position_embeddings", "tie_word_embeddings", "bos_token_id",
          "eos_token_id", "pad_token_id"]
CONFIG_KEYS = FIELDS + ["model_type", "hidden_act", "attention_bias", "mlp_bias",
                        "rope_scaling", "partial_rotary_factor", "rope_parameters",
                        "quantization_config"]
QC_KEYS = ["quant_method", "linear_class", "use_rms_norm", "modules_to_not_convert"]
#: Errors about a whole file, which has no tensor or field to name.
WHOLE_FILE = ["not a valid safetensors file (", "invalid JSON (", "config must be a JSON object"]
DTYPES = {"F32": "<f4", "F16": "<f2", "U8": "u1", "I8": "i1", "I32": "<i4", "F64": "<f8",
          "BF16": None, "BOOL": "?"}
TIME_LIMIT_S = 20
MEMORY_CAP = 1 << 30


# --- the base checkpoints -----------------------------------------------------------------------

def base_model():
    config = BitNetConfig(**CONFIG)
    params = random_params(config, seed=5)
    for i, name in enumerate(n for n in params if n.endswith(".gamma")):
        params[name] = np.float32(1) / np.float32(2 + i)   # reachable by both conventions
    return BitNetModel(config, params)


@pytest.fixture(scope="module")
def bases(tmp_path_factory):
    """``{linear_class: (config dict, {name: (dtype, shape, bytes)}, metadata)}``."""
    model, out = base_model(), {}
    for linear_class in ("autobitlinear", "bitlinear"):
        folder = tmp_path_factory.mktemp(linear_class)
        save_checkpoint(model, folder, linear_class=linear_class)
        config = json.loads((folder / "config.json").read_text())
        header, data = read_safetensors((folder / "model.safetensors").read_bytes())
        tensors = {name: (entry["dtype"], tuple(entry["shape"]),
                          data[entry["data_offsets"][0]:entry["data_offsets"][1]])
                   for name, entry in header.items() if name != "__metadata__"}
        out[linear_class] = (config, tensors, header.get("__metadata__"))
    return out


# --- an independent safetensors reader and writer -----------------------------------------------

def read_safetensors(raw):
    """``(header dict, data bytes)``; ValueError for anything this reader cannot parse."""
    if len(raw) < 8:
        raise ValueError("shorter than its length prefix")
    size = struct.unpack("<Q", raw[:8])[0]
    if 8 + size > len(raw):
        raise ValueError("header beyond the file")
    header = json.loads(raw[8:8 + size].decode("utf-8"))
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    return header, raw[8 + size:]


def decode(dtype, shape, blob):
    """A tensor's bytes as a NumPy array (BF16 widened to float32 by a 16-bit shift)."""
    if dtype == "BF16":
        bits = np.frombuffer(blob, "<u2").astype(np.uint32) << 16
        return bits.view(np.float32).reshape(shape)
    return np.frombuffer(blob, DTYPES[dtype]).reshape(shape)


def encode(dtype, values):
    values = np.asarray(values)
    if dtype == "BF16":
        return (values.astype(np.float32).view(np.uint32) >> 16).astype("<u2").tobytes()
    with np.errstate(all="ignore"):
        return values.astype(DTYPES[dtype]).tobytes()


def write_safetensors(tensors, metadata):
    header, blobs, offset = {}, [], 0
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, (dtype, shape, blob) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def unpack_i2(packed, out):
    """Row ``r + i*P`` of the weights is lane ``i`` (bits 2i+1:2i) of packed row ``r``."""
    rows = packed.shape[0]
    return np.array([[(int(packed[k % rows, c]) >> 2 * (k // rows) & 3) - 1
                      for c in range(packed.shape[1])] for k in range(out)],
                    np.int8).reshape(out, packed.shape[1])


# --- mutations ----------------------------------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(),
    st.sampled_from([0, 1, 2, 3, 4, 6, 8, 12, -1, 2**31, 10**12, 2**64]),
    st.sampled_from([0.0, -1.0, 0.5, 4.0, 1e-60, 1e-5, 1e300, float("nan"), float("inf")]),
    st.sampled_from(["", "x", "bitnet", "llama", "relu2", "silu", "bitlinear", "autobitlinear",
                     "lm_head", "default", "yarn"]))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(QC_KEYS + ["rope_theta",
                                                                           "rope_type"]),
                                                 inner, max_size=3)), max_leaves=6)


@st.composite
def config_edit(draw, config):
    config = json.loads(json.dumps(config))
    kind = draw(st.sampled_from(["set", "delete", "qc", "size", "whole"]))
    if kind == "set":
        config[draw(st.sampled_from(CONFIG_KEYS))] = draw(json_values)
    elif kind == "delete":
        config.pop(draw(st.sampled_from(CONFIG_KEYS)), None)
    elif kind == "qc":
        qc = config.setdefault("quantization_config", {})
        qc[draw(st.sampled_from(QC_KEYS))] = draw(json_values)
    elif kind == "size":   # contradictory sizes: the file stays as it was
        key = draw(st.sampled_from(FIELDS[:7] + ["max_position_embeddings"]))
        config[key] = draw(st.sampled_from([1, 2, 3, 4, 5, 8, 10**9, 10**12]))
    else:
        return draw(json_values)
    return config


@st.composite
def tensor_edit(draw, tensors):
    tensors = dict(tensors)
    names = sorted(tensors)
    name = draw(st.sampled_from(names))
    dtype, shape, blob = tensors[name]
    values = decode(dtype, shape, blob)
    kind = draw(st.sampled_from(["retype", "reshape", "resize", "drop", "rename", "special",
                                 "byte", "extra"]))
    if kind == "retype":
        new = draw(st.sampled_from(sorted(DTYPES)))
        tensors[name] = (new, shape, encode(new, values))
    elif kind == "reshape":   # same bytes, other dimensions
        new = draw(st.sampled_from([(values.size,), (1, values.size), (values.size, 1), (),
                                    tuple(reversed(shape))]))
        if int(np.prod(new)) == values.size:
            tensors[name] = (dtype, new, blob)
    elif kind == "resize":    # another shape with as many bytes as that shape needs
        new = tuple(draw(st.lists(st.integers(0, 9), max_size=3)))
        itemsize = 2 if dtype == "BF16" else np.dtype(DTYPES[dtype]).itemsize
        need = int(np.prod(new)) * itemsize
        tensors[name] = (dtype, new, (blob * (need // max(len(blob), 1) + 1))[:need])
    elif kind == "drop":
        del tensors[name]
    elif kind == "rename":
        tensors[draw(st.sampled_from(["model.layers.2.input_layernorm.weight", "lm_head",
                                      name + ".x", name.replace("layers.1", "layers.01")]))] = \
            tensors.pop(name)
    elif kind == "special":
        special = draw(st.sampled_from([0.0, -0.0, -1.0, 1.0, 0.5, 1e-45, 1e-40, 3e38, np.inf,
                                        -np.inf, np.nan, 255, 3]))
        flat = np.array(values, dtype=values.dtype).reshape(-1)
        if flat.size:
            with np.errstate(all="ignore"), contextlib.suppress(ValueError, OverflowError):
                flat[draw(st.integers(0, flat.size - 1))] = special   # NaN: not in ints
            tensors[name] = (dtype, shape, encode(dtype, flat))
    elif kind == "byte" and blob:
        data = bytearray(blob)
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        tensors[name] = (dtype, shape, bytes(data))
    elif kind == "extra":
        extra = draw(st.sampled_from(["model.layers.2.input_layernorm.weight",
                                      "model.layers.0.self_attn.rotary_emb.inv_freq",
                                      "lm_head.bias", "model.layers.9.mlp.up_proj.weight"]))
        tensors[extra] = ("F32", (4,), encode("F32", np.ones(4)))
    return tensors


@st.composite
def byte_edit(draw, raw):
    kind = draw(st.sampled_from(["truncate", "flip", "length", "header", "append"]))
    size = struct.unpack("<Q", raw[:8])[0]
    if kind == "truncate":
        return raw[:draw(st.integers(0, len(raw) - 1))]
    if kind == "flip":
        data = bytearray(raw)
        position = draw(st.integers(0, len(raw) - 1))
        data[position] ^= 1 << draw(st.integers(0, 7))
        return bytes(data)
    if kind == "length":
        new = draw(st.one_of(st.integers(0, len(raw) + 16),
                             st.sampled_from([2**63, 2**64 - 1, 100_000_001, size - 8])))
        return struct.pack("<Q", max(new, 0)) + raw[8:]
    if kind == "header":   # resize the header text: insert or delete bytes, fix the length
        text = raw[8:8 + size]
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from([b" ", b",", b"}", b"0", b"\x00"])) * \
                draw(st.integers(1, 9)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 9)):]
        return struct.pack("<Q", len(text)) + text + raw[8 + size:]
    return raw + draw(st.binary(min_size=1, max_size=9))


# --- the oracle ---------------------------------------------------------------------------------

class TimeLimit(Exception):
    pass


@contextlib.contextmanager
def guarded():
    """A time limit and an address-space cap of MEMORY_CAP beyond what is mapped now."""
    def expire(signum, frame):
        raise TimeLimit(f"load_checkpoint took longer than {TIME_LIMIT_S} s")
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    try:
        with open("/proc/self/statm") as handle:   # Linux; elsewhere no cap
            mapped = int(handle.read().split()[0]) * resource.getpagesize()
        cap = mapped + MEMORY_CAP if hard == resource.RLIM_INFINITY else min(
            mapped + MEMORY_CAP, hard)
    except OSError:
        cap = soft
    previous = signal.signal(signal.SIGALRM, expire)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
        signal.signal(signal.SIGALRM, previous)


def load_guarded(folder):
    """The model, or the CheckpointError; any other outcome fails the test."""
    with guarded():
        try:
            return load_checkpoint(folder)
        except CheckpointError as error:
            return error


def check_error(error, folder, names):
    text = str(error)
    assert "\n" not in text and "\r" not in text, text
    files = [f"{folder}{os.sep}{name}: " for name in ("config.json", "model.safetensors")]
    assert any(text.startswith(prefix) for prefix in files), text
    tensor = re.search(r"tensor '([^']+)'", text)
    if tensor:
        assert tensor.group(1) in names or re.fullmatch(r"model\.layers\.[0-9]+\.[\w.]+",
                                                        tensor.group(1)), text
    else:
        assert any(word in text for word in CONFIG_KEYS + QC_KEYS + WHOLE_FILE), text


def expected_config(raw):
    heads = raw["num_attention_heads"]
    defaults = dict(num_key_value_heads=heads, head_dim=raw["hidden_size"] // heads,
                    rms_norm_eps=1e-5, rope_theta=500000.0, max_position_embeddings=2048,
                    tie_word_embeddings=False, bos_token_id=None, eos_token_id=None,
                    pad_token_id=None)
    out = {field: raw[field] if raw.get(field) is not None else defaults.get(field)
           for field in FIELDS}
    rope = raw.get("rope_parameters") or {}
    if rope.get("rope_theta") is not None:
        out["rope_theta"] = rope["rope_theta"]
    if isinstance(out["eos_token_id"], list):
        out["eos_token_id"] = tuple(out["eos_token_id"])
    return out


def check_model(model, config_bytes, raw_file):
    """The loaded model equals what the bytes hold, read independently."""
    raw = json.loads(config_bytes)
    for field, value in expected_config(raw).items():
        assert getattr(model.config, field) == value, field
    qc = raw.get("quantization_config") or {}
    linear_class = qc.get("linear_class", "bitlinear")
    header, data = read_safetensors(raw_file)

    def tensor(name):
        entry = header[name]
        begin, end = entry["data_offsets"]
        return decode(entry["dtype"], tuple(entry["shape"]), data[begin:end])

    for name, (shape, kind) in param_shapes(model.config).items():
        if kind == "float":
            expected = tensor(name).astype(np.float32)
            assert np.isfinite(expected).all()
        elif kind == "ternary":
            prefix = name[:-len(".weight")]
            stored = tensor(name)
            if f"{prefix}.weight_scale" not in header:
                expected, gamma = quantize_weights(stored.astype(np.float32))
            else:
                if header[name]["dtype"] == "U8":
                    expected = unpack_i2(stored, shape[0])
                else:
                    assert set(np.unique(stored)) <= {-1, 0, 1}
                    expected = stored.astype(np.int8)
                s = np.float32(tensor(f"{prefix}.weight_scale").reshape(()))
                gamma = s if linear_class == "autobitlinear" else np.float32(1) / s
            assert model.params[f"{prefix}.gamma"] == gamma, prefix
        else:
            continue
        got = model.params[name]
        assert got.dtype == expected.dtype and np.array_equal(got, expected), name


# --- properties ---------------------------------------------------------------------------------

@examples(600)
@pytest.mark.filterwarnings("error")   # a warning would be a second line on a CLI's stderr
@given(data=st.data())
def test_mutated_checkpoints(bases, tmp_path_factory, data):
    linear_class = data.draw(st.sampled_from(sorted(bases)), label="linear_class")
    config, tensors, metadata = bases[linear_class]
    for _ in range(data.draw(st.integers(0, 2), label="tensor edits")):
        tensors = data.draw(tensor_edit(tensors))
    if data.draw(st.booleans(), label="edit config"):
        config = data.draw(config_edit(config))
    raw_file = write_safetensors(tensors, metadata)
    for _ in range(data.draw(st.integers(0, 2), label="byte edits")):
        if len(raw_file) > 8:
            raw_file = data.draw(byte_edit(raw_file))
    config_bytes = json.dumps(config).encode()
    if data.draw(st.integers(0, 9), label="config bytes") == 9:   # truncated or flipped text
        at = data.draw(st.integers(0, len(config_bytes) - 1))
        if data.draw(st.booleans()):
            config_bytes = config_bytes[:at] + bytes([config_bytes[at] ^ 0x20]) + \
                config_bytes[at + 1:]
        else:
            config_bytes = config_bytes[:at]

    folder = tmp_path_factory.mktemp("mutated")
    (folder / "config.json").write_bytes(config_bytes)
    (folder / "model.safetensors").write_bytes(raw_file)
    outcome = load_guarded(folder)
    if isinstance(outcome, CheckpointError):
        event(f"refused: {re.sub(r'[^a-z ]', '', str(outcome).split(': ', 1)[1])[:40]}")
        check_error(outcome, folder, set(tensors) | set(bases[linear_class][1]))
    else:
        event("loaded")
        check_model(outcome, config_bytes, raw_file)
    shutil.rmtree(folder)


def write_base(folder, config_changes=(), text=None):
    save_checkpoint(base_model(), folder)
    config = json.loads((folder / "config.json").read_text())
    config.update(config_changes)
    (folder / "config.json").write_text(json.dumps(config) if text is None else text)
    return folder


# Defects the fuzzer found, each a plain example: a huge max_position_embeddings allocated
# the whole rotary table at load (MemoryError, or minutes and gigabytes); a huge
# num_hidden_layers listed every tensor name of every layer before reading one (minutes,
# then MemoryError); a smaller one silently dropped the file's other layers; a
# modules_to_not_convert that is no list raised TypeError; an integer of 5000 digits or JSON
# nested 100000 deep raised ValueError or RecursionError instead of CheckpointError.
@pytest.mark.parametrize("changes, text, message", [
    ({"num_hidden_layers": 10**12}, None,
     "model.safetensors: missing tensor 'model.layers.2.input_layernorm.weight'"),
    ({"num_hidden_layers": 1}, None,
     "model.safetensors: tensor 'model.layers.1.input_layernorm.weight' is beyond "
     "num_hidden_layers=1 of config.json"),
    ({"quantization_config": {"quant_method": "bitnet", "modules_to_not_convert": 5}}, None,
     "config.json: quantization_config.modules_to_not_convert must be a list, not int"),
    ({}, '{"vocab_size": 1' + "0" * 5000 + "}",
     "config.json: invalid JSON (Exceeds the limit (4300 digits) for integer string "
     "conversion)"),
    ({}, "[" * 100_000,
     "config.json: invalid JSON (maximum recursion depth exceeded while decoding a JSON "
     "array from a unicode string)"),
])
def test_found_defects_are_checkpoint_errors(tmp_path, changes, text, message):
    write_base(tmp_path, changes, text)
    outcome = load_guarded(tmp_path)
    assert isinstance(outcome, CheckpointError)
    assert str(outcome) == f"{tmp_path}{os.sep}{message}"


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("bits", [0x7F800001, 0xFFBFFFFF, 0x7FC00000])
def test_nan_scale_is_refused_without_a_warning(tmp_path, bits):
    """Found by the long profile: ``1 / s`` of a signaling NaN scale (bitlinear; a bit flip
    makes one) printed a RuntimeWarning before the error, a second line on a command
    line's stderr."""
    model = base_model()
    save_checkpoint(model, tmp_path, linear_class="bitlinear")
    raw = (tmp_path / "model.safetensors").read_bytes()
    header, data = read_safetensors(raw)
    tensors = {name: (entry["dtype"], tuple(entry["shape"]),
                      data[entry["data_offsets"][0]:entry["data_offsets"][1]])
               for name, entry in header.items() if name != "__metadata__"}
    name = "model.layers.0.mlp.up_proj.weight_scale"
    tensors[name] = ("F32", (1,), struct.pack("<I", bits))
    (tmp_path / "model.safetensors").write_bytes(write_safetensors(tensors, None))
    outcome = load_guarded(tmp_path)
    assert str(outcome) == (f"{tmp_path}{os.sep}model.safetensors: tensor {name!r} must be "
                            f"positive with a finite reciprocal, not nan")


def test_huge_max_position_embeddings_loads_and_runs(tmp_path):
    write_base(tmp_path, {"max_position_embeddings": 10**12})
    model = load_guarded(tmp_path)
    assert model.config.max_position_embeddings == 10**12
    reference = load_checkpoint(write_base(tmp_path / "base"))
    with guarded():
        logits = model(np.array([0, 3, 1, 5]))
    assert np.array_equal(logits, reference(np.array([0, 3, 1, 5])))
