"""HuggingFace BitNet checkpoint folders <-> :class:`golden.BitNetModel`, without torch or pickle.

A folder holds ``config.json``, the tensors in ``model.safetensors`` or in shards listed by
``model.safetensors.index.json`` (``{"weight_map": {tensor: shard file}}``), and optionally
``tokenizer.json``. Tensor names are HuggingFace's (:func:`golden.param_shapes`), read through
``safetensors`` (``safe_open(..., framework="np")``); BF16 tensors, which NumPy has no type
for, are widened to float32 exactly by shifting their 16 bits into the high half.

Projection weights ``<proj>.weight`` come in two forms:

* packed: uint8 ``[ceil(out/4), in]`` in the i2 layout (:func:`golden.unpack_i2`) plus a
  one-element float ``<proj>.weight_scale`` ``s``. Its meaning follows
  ``config.json`` ``quantization_config.linear_class``, as in ``transformers``
  ``integrations/bitnet.py``: ``"bitlinear"`` (the default, and the 2B-4T checkpoint)
  computes ``y / (x_scale * s)``, i.e. ``W = t / s``, so ``gamma = float32(1) / s``;
  ``"autobitlinear"`` computes ``linear(x, t) * s``, i.e. ``W = t * s``, so ``gamma = s``.
  A float ``<proj>.weight`` holding only -1, 0 and +1 beside a ``weight_scale`` is read the
  same way (AutoBitLinear's unpacked form).
* latent: a float ``[out, in]`` without ``weight_scale`` (e.g. the ``-bf16`` master weights),
  ternarized at load by :func:`golden.quantize_weights`.

:func:`save_checkpoint` writes the packed form; load, save, load is exact.
:func:`save_checkpoint_shards` writes the same tensors as shards produced one at a time, for
models too large to hold twice in memory.
"""

import collections.abc
import json
import os
import re
import struct

import numpy as np
from safetensors import SafetensorError, safe_open
from safetensors.numpy import save_file

from golden.config import BitNetConfig, param_shapes
from golden.checks import first_bad_index, format_index
from golden.model import BitNetModel, _check_param
from golden.packing import pack_i2, unpack_i2
from golden.quant import quantize_weights
from golden.tokenizer import Tokenizer

__all__ = ["CheckpointError", "LINEAR_CLASSES", "load_checkpoint", "save_checkpoint",
           "save_checkpoint_shards"]

LINEAR_CLASSES = ("bitlinear", "autobitlinear")
_FLOATS = ("F32", "F16", "BF16")
_INDEX = "model.safetensors.index.json"
_LAYER = re.compile(r"model\.layers\.([0-9]{1,18})\.")


class CheckpointError(ValueError):
    """A checkpoint file is missing, malformed or inconsistent; the message starts with the
    file's path and names the tensor."""


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise CheckpointError(f"{path}: file not found") from None
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: invalid JSON ({error.msg} at line {error.lineno} "
                              f"column {error.colno})") from None
    except (ValueError, RecursionError) as error:  # an integer of > 4300 digits; deep nesting
        raise CheckpointError(f"{path}: invalid JSON ({str(error).split(':')[0]})") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"{path}: cannot read ({error})") from None


def _linear_class(raw, path):
    """``quantization_config.linear_class`` of a parsed ``config.json`` (default bitlinear)."""
    qc = raw.get("quantization_config")
    if qc is None:
        return "bitlinear"
    where = f"{path}: quantization_config"
    if not isinstance(qc, dict):
        raise CheckpointError(f"{where} must be a JSON object, not {type(qc).__name__}")
    if qc.get("quant_method", "bitnet") != "bitnet":
        raise CheckpointError(f"{where}.quant_method must be 'bitnet', not {qc['quant_method']!r}")
    linear_class = qc.get("linear_class", "bitlinear")
    if linear_class not in LINEAR_CLASSES:
        raise CheckpointError(f"{where}.linear_class must be 'bitlinear' or 'autobitlinear', "
                              f"not {linear_class!r}")
    if qc.get("use_rms_norm", False):
        raise CheckpointError(f"{where}.use_rms_norm=true is not supported")
    modules = qc.get("modules_to_not_convert") or []
    if not isinstance(modules, list):
        raise CheckpointError(f"{where}.modules_to_not_convert must be a list, "
                              f"not {type(modules).__name__}")
    if any(module != "lm_head" for module in modules):
        raise CheckpointError(f"{where}.modules_to_not_convert is not supported "
                              f"(got {qc['modules_to_not_convert']!r})")
    return linear_class


class _Tensors:
    """The tensors of a checkpoint folder, located and read on demand."""

    def __init__(self, folder):
        single, index = os.path.join(folder, "model.safetensors"), os.path.join(folder, _INDEX)
        self._handles, self._headers = {}, {}
        if os.path.exists(single):
            self._listing = single
            self._where = {name: single for name in self._open(single).keys()}
        elif os.path.exists(index):
            self._listing = index
            weight_map = _read_json(index)
            weight_map = weight_map.get("weight_map") if isinstance(weight_map, dict) else None
            if not isinstance(weight_map, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in weight_map.items()):
                raise CheckpointError(f"{index}: weight_map must map tensor names to file names")
            for shard in set(weight_map.values()):
                if os.path.basename(shard) != shard or shard in ("", ".", ".."):
                    raise CheckpointError(f"{index}: shard {shard!r} must be a file name")
            self._where = {k: os.path.join(folder, v) for k, v in weight_map.items()}
        else:
            raise CheckpointError(f"{folder}: no model.safetensors or {_INDEX}")

    def _open(self, path):
        if path not in self._handles:
            if not os.path.exists(path):
                raise CheckpointError(f"{path}: file not found (listed in {_INDEX})")
            try:
                self._handles[path] = safe_open(path, framework="np")
            except (SafetensorError, OSError) as error:
                raise CheckpointError(f"{path}: not a valid safetensors file ({error})") from None
        return self._handles[path]

    def check_layers(self, layers):
        """Require tensors of exactly the layers ``0 .. layers-1`` (``num_hidden_layers``),
        before anything is allocated per layer: a config.json that claims more layers fails
        at once, one that claims fewer does not silently drop the rest."""
        present = {}
        for name in self._where:
            match = _LAYER.match(name)
            if match:
                present.setdefault(int(match.group(1)), name)
        for index in range(min(layers, len(present) + 1)):
            if index not in present:
                raise CheckpointError(f"{self._listing}: missing tensor "
                                      f"'model.layers.{index}.input_layernorm.weight'")
        beyond = [index for index in sorted(present) if index >= layers]
        if beyond:
            raise CheckpointError(f"{self._listing}: tensor {present[beyond[0]]!r} is beyond "
                                  f"num_hidden_layers={layers} of config.json")

    def has(self, name):
        return name in self._where

    def info(self, name):
        """``(file, dtype code, shape)`` of tensor ``name``."""
        if name not in self._where:
            raise CheckpointError(f"{self._listing}: missing tensor {name!r}")
        path = self._where[name]
        handle = self._open(path)
        if name not in handle.keys():
            raise CheckpointError(f"{path}: missing tensor {name!r} (listed in {_INDEX})")
        piece = handle.get_slice(name)
        return path, piece.get_dtype(), tuple(piece.get_shape())

    def read(self, name):
        """Tensor ``name`` as stored, except BF16, returned as float32 (exactly)."""
        path, dtype, shape = self.info(name)
        if dtype != "BF16":
            return self._open(path).get_tensor(name)
        if path not in self._headers:  # safe_open has validated the header already
            with open(path, "rb") as handle:
                size = struct.unpack("<Q", handle.read(8))[0]
                self._headers[path] = (8 + size, json.loads(handle.read(size)))
        start, header = self._headers[path]
        begin, end = header[name]["data_offsets"]
        bits = np.fromfile(path, dtype="<u2", count=(end - begin) // 2, offset=start + begin)
        return (bits.astype(np.uint32) << 16).view(np.float32).reshape(shape)

    def float_tensor(self, name, expected):
        path, dtype, shape = self.info(name)
        if dtype not in _FLOATS:
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {dtype}; "
                                  f"expected F32, F16 or BF16")
        if shape != expected:
            raise CheckpointError(f"{path}: tensor {name!r} has shape {shape}; expected {expected}")
        value = self.read(name).astype(np.float32, copy=False)
        bad = ~np.isfinite(value)
        if bad.any():
            index = first_bad_index(bad)
            raise CheckpointError(f"{path}: tensor {name!r} must be finite; found "
                                  f"{value[index]} at {format_index(index)}")
        return value

    def projection(self, prefix, expected, linear_class):
        """``(wq int8 [out, in], gamma float32)`` of projection ``prefix``."""
        name, scale_name = f"{prefix}.weight", f"{prefix}.weight_scale"
        path, dtype, shape = self.info(name)
        out, cols = expected
        if dtype == "U8":
            packed_shape = (-(-out // 4), cols)
            if shape != packed_shape:
                raise CheckpointError(f"{path}: tensor {name!r} has shape {shape}; expected "
                                      f"{packed_shape} (packed i2 for {out} output rows)")
            try:
                wq = unpack_i2(self.read(name), out)
            except ValueError as error:
                raise CheckpointError(f"{path}: tensor {name!r}: {error}") from None
        elif dtype in _FLOATS:
            if shape != expected:
                raise CheckpointError(f"{path}: tensor {name!r} has shape {shape}; "
                                      f"expected {expected}")
            w = self.read(name).astype(np.float32)
            if not self.has(scale_name):
                try:
                    return quantize_weights(w)
                except ValueError as error:
                    raise CheckpointError(f"{path}: tensor {name!r}: {error}") from None
            bad = (w != -1) & (w != 0) & (w != 1)
            if bad.any():
                index = first_bad_index(bad)
                raise CheckpointError(f"{path}: tensor {name!r} has a weight_scale, so it must "
                                      f"hold -1, 0 or +1; found {w[index]} "
                                      f"at {format_index(index)}")
            wq = w.astype(np.int8)
        else:
            raise CheckpointError(f"{path}: tensor {name!r} has dtype {dtype}; "
                                  f"expected U8 (packed i2), F32, F16 or BF16")
        path, dtype, shape = self.info(scale_name)
        if dtype not in _FLOATS or shape not in ((), (1,)):
            raise CheckpointError(f"{path}: tensor {scale_name!r} has dtype {dtype} and shape "
                                  f"{shape}; expected a float of shape (1,)")
        s = np.float32(self.read(scale_name).reshape(()))
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            gamma = s if linear_class == "autobitlinear" else np.float32(1) / s
        if not (np.isfinite(s) and s > 0 and np.isfinite(gamma)):
            raise CheckpointError(f"{path}: tensor {scale_name!r} must be positive with a finite "
                                  f"reciprocal, not {float(s)}")
        return wq, np.float32(gamma)


def load_checkpoint(path):
    """Read a HuggingFace BitNet checkpoint folder into a :class:`golden.BitNetModel`.

    Parameters
    ----------
    path : str or os.PathLike
        Folder with ``config.json``, ``model.safetensors`` (or ``model.safetensors.index.json``
        and its shards) and optionally ``tokenizer.json``. Tensors the model does not use
        (e.g. ``lm_head.weight`` of a tied model) are ignored, as HuggingFace does.

    Returns
    -------
    BitNetModel
        With the default integer GEMM, and ``model.tokenizer`` a :class:`golden.Tokenizer`
        when ``tokenizer.json`` exists, else ``None``.

    Raises
    ------
    CheckpointError
        Every problem with the files, starting with the file's path, e.g.
        ``"ckpt/config.json: missing required field 'hidden_size'"``,
        ``"ckpt/model.safetensors: missing tensor 'model.norm.weight'"``,
        ``"ckpt/model.safetensors: tensor 'model.norm.weight' has shape (31,); expected (32,)"``,
        ``"ckpt/model.safetensors: not a valid safetensors file (...)"``,
        ``"ckpt/model.safetensors: tensor 'model.layers.0.mlp.up_proj.weight': invalid i2 code 3
        at packed[0, 5] bits [3:2]"``.
    """
    folder = os.fspath(path)
    if not os.path.isdir(folder):
        raise CheckpointError(f"{folder}: not a checkpoint folder")
    config_path = os.path.join(folder, "config.json")
    raw = _read_json(config_path)
    try:
        config = BitNetConfig.from_dict(raw)
    except (TypeError, ValueError) as error:
        raise CheckpointError(f"{config_path}: {error}") from None
    linear_class = _linear_class(raw, config_path)
    tensors = _Tensors(folder)
    tensors.check_layers(config.num_hidden_layers)
    model = BitNetModel(config, _Params(tensors, param_shapes(config), linear_class))
    tokenizer_path = os.path.join(folder, "tokenizer.json")
    if os.path.exists(tokenizer_path):
        try:
            model.tokenizer = Tokenizer.from_file(tokenizer_path)
        except ValueError as error:
            raise CheckpointError(str(error)) from None
    return model


class _Params(collections.abc.Mapping):
    """The params of a checkpoint, each read from its file when :class:`BitNetModel` asks
    for it (once, in :func:`golden.param_shapes` order) and not kept: the model copies it, so
    loading never holds the weights twice (the 2B-4T shape peaks at about 6 GB, not 9)."""

    def __init__(self, tensors, shapes, linear_class):
        self._tensors, self._shapes, self._linear_class = tensors, shapes, linear_class
        self._gammas = {}

    def __iter__(self):
        return iter(self._shapes)

    def __len__(self):
        return len(self._shapes)

    def __contains__(self, name):
        return name in self._shapes

    def __getitem__(self, name):
        shape, kind = self._shapes[name]
        if kind == "float":
            return self._tensors.float_tensor(name, shape)
        prefix = name.rsplit(".", 1)[0]
        if kind == "gamma" and name in self._gammas:
            return self._gammas.pop(name)
        weight_shape = self._shapes[f"{prefix}.weight"][0]
        wq, gamma = self._tensors.projection(prefix, weight_shape, self._linear_class)
        if kind == "gamma":
            return gamma
        self._gammas[f"{prefix}.gamma"] = gamma
        return wq


def _weight_scale(gamma, name, linear_class):
    """The float32 ``weight_scale`` that loads back as exactly ``gamma``."""
    if linear_class == "autobitlinear":
        return gamma
    # s -> float32(1) / s does not reach every float32 (about 83% of each binade). A gamma is
    # reached iff float32(1) / (float32(1) / gamma) == gamma (checked exhaustively over
    # [1, 2)), so 1 / gamma is the scale to store whenever one exists.
    s = np.float32(1) / gamma
    if np.float32(1) / s != gamma:
        raise ValueError(f"cannot save {name} with linear_class='bitlinear': no float32 "
                         f"weight_scale s gives 1/s == gamma ({float(gamma)!r}); "
                         f"use linear_class='autobitlinear'")
    return s


def save_checkpoint(model, path, *, linear_class="autobitlinear"):
    """Write ``model`` as a HuggingFace BitNet checkpoint folder (packed i2 weights).

    Writes ``config.json`` (with ``quantization_config`` ``{"quant_method": "bitnet",
    "linear_class": linear_class, "quantization_mode": "offline"}``), ``model.safetensors``
    (float32 embeddings, norms and untied ``lm_head``; uint8 packed weights; float32
    ``weight_scale`` of shape (1,); metadata ``{"format": "pt"}`` as ``transformers`` expects)
    and, when the model has one, ``tokenizer.json``. The folder is created if needed; existing
    files of those names are replaced.

    Parameters
    ----------
    model : BitNetModel
    path : str or os.PathLike
    linear_class : str, keyword-only
        ``"autobitlinear"`` (the default) stores ``s = gamma``, exact for every gamma;
        ``"bitlinear"`` (the layout of the 2B-4T checkpoint) stores ``s`` with
        ``float32(1) / s == gamma``. Loading the result gives back exactly the model's arrays.

    Raises
    ------
    TypeError
        ``"model must be a BitNetModel, not dict"``.
    ValueError
        ``"linear_class must be 'bitlinear' or 'autobitlinear', not 'x'"``; with
        ``"bitlinear"``, ``"cannot save model.layers.0.mlp.up_proj with linear_class='bitlinear':
        no float32 weight_scale s gives 1/s == gamma (...)"`` for a gamma that is not the
        float32 reciprocal of any float32 (about 1 in 6 of arbitrary gammas; never for a model
        loaded from a ``bitlinear`` checkpoint, since ``1/(1/(1/s)) == 1/s`` in float32).
    """
    if not isinstance(model, BitNetModel):
        raise TypeError(f"model must be a BitNetModel, not {type(model).__name__}")
    _check_linear_class(linear_class)
    tensors = _stored(model.params, param_shapes(model.config), linear_class)
    folder = _start_folder(model.config, path, linear_class, model.tokenizer)
    _remove(os.path.join(folder, _INDEX))           # one layout per folder
    save_file(tensors, os.path.join(folder, "model.safetensors"), metadata={"format": "pt"})


def save_checkpoint_shards(config, shards, path, *, linear_class="autobitlinear",
                           tokenizer=None):
    """Write a checkpoint folder one shard at a time, holding one shard in memory.

    For models too large to build twice in memory (the 2B-4T-shaped checkpoint of
    :mod:`golden.synthetic`): ``shards`` yields parts of a params dict (as
    :class:`BitNetModel` takes them) and each is validated like the model's params, packed and
    written to ``model-0000i-of-0000n.safetensors`` before the next is requested. The
    ``model.safetensors.index.json`` that lists them is written last, after checking that the
    shards held every entry of :func:`golden.param_shapes` exactly once, so a failure leaves
    no loadable checkpoint. The tensors, ``config.json`` and ``tokenizer.json`` are those of
    :func:`save_checkpoint`; :func:`load_checkpoint` reads the folder back exactly.

    Parameters
    ----------
    config : BitNetConfig
    shards : iterable of mappings of str to array
        Each projection's ``<proj>.weight`` with its ``<proj>.gamma`` in the same shard.
    path : str or os.PathLike
    linear_class : str, keyword-only
        As for :func:`save_checkpoint`.
    tokenizer : golden.Tokenizer or None, keyword-only

    Raises
    ------
    TypeError
        ``"config must be a BitNetConfig, not dict"``, ``"shard 2 must be a mapping of
        names to arrays, not list"``, and those of :class:`BitNetModel` for an entry.
    ValueError
        ``"shard 2 has unexpected entry 'x'"``, ``"shard 3 repeats
        'model.norm.weight'"``, ``"shard 1 has model.layers.0.mlp.up_proj.weight without
        its gamma"`` (or the gamma without its weight), ``"the shards are missing
        'lm_head.weight'"``, those of :func:`save_checkpoint` and of :class:`BitNetModel`
        for an entry.
    """
    if not isinstance(config, BitNetConfig):
        raise TypeError(f"config must be a BitNetConfig, not {type(config).__name__}")
    _check_linear_class(linear_class)
    if tokenizer is not None and not isinstance(tokenizer, Tokenizer):
        raise TypeError(f"tokenizer must be a Tokenizer or None, not {type(tokenizer).__name__}")
    shapes = param_shapes(config)
    folder = _start_folder(config, path, linear_class, tokenizer)
    _remove(os.path.join(folder, _INDEX))
    _remove(os.path.join(folder, "model.safetensors"))
    seen, written = set(), []
    for number, shard in enumerate(shards, start=1):
        if not hasattr(shard, "keys") or not hasattr(shard, "__getitem__"):
            raise TypeError(f"shard {number} must be a mapping of names to arrays, "
                            f"not {type(shard).__name__}")
        for name in shard:
            if name not in shapes:
                raise ValueError(f"shard {number} has unexpected entry {name!r}")
            if name in seen:
                raise ValueError(f"shard {number} repeats {name!r}")
            partner = _partner(name, shapes)
            if partner is not None and partner not in shard:
                raise ValueError(f"shard {number} has {name} without its "
                                 f"{partner.rsplit('.', 1)[1]}")
        checked = {name: _check_param(name, shard[name], *shapes[name]) for name in shard}
        seen.update(checked)
        file = os.path.join(folder, f"model-{number:05d}.safetensors")
        tensors = _stored(checked, {name: shapes[name] for name in shapes if name in checked},
                          linear_class)
        del checked
        save_file(tensors, file, metadata={"format": "pt"})
        written.append((file, list(tensors)))
        del tensors
    for name in shapes:
        if name not in seen:
            raise ValueError(f"the shards are missing {name!r}")
    weight_map, total = {}, 0
    for number, (file, names) in enumerate(written, start=1):
        final = f"model-{number:05d}-of-{len(written):05d}.safetensors"
        os.replace(file, os.path.join(folder, final))
        total += os.path.getsize(os.path.join(folder, final))
        weight_map.update((name, final) for name in names)
    with open(os.path.join(folder, _INDEX), "w", encoding="utf-8") as handle:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, handle,
                  indent=2, sort_keys=True)
        handle.write("\n")


def _check_linear_class(linear_class):
    if linear_class not in LINEAR_CLASSES:
        raise ValueError(f"linear_class must be 'bitlinear' or 'autobitlinear', "
                         f"not {linear_class!r}")


def _partner(name, shapes):
    """The gamma of a projection weight, the weight of a gamma, else None."""
    kind = shapes[name][1]
    if kind == "gamma":
        return name[:-len("gamma")] + "weight"
    if kind == "ternary":
        return name[:-len("weight")] + "gamma"
    return None


def _remove(file):
    if os.path.exists(file):
        os.remove(file)


def _start_folder(config, path, linear_class, tokenizer):
    """Create the folder; write ``config.json`` and ``tokenizer.json``; return the folder."""
    config_dict = config.to_dict()
    config_dict["torch_dtype"] = "float32"
    config_dict["quantization_config"] = {"quant_method": "bitnet",
                                          "linear_class": linear_class,
                                          "quantization_mode": "offline"}
    folder = os.fspath(path)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as handle:
        json.dump(config_dict, handle, indent=2, sort_keys=True)
        handle.write("\n")
    if tokenizer is not None:
        tokenizer.save(os.path.join(folder, "tokenizer.json"))
    return folder


def _stored(params, shapes, linear_class):
    """The safetensors tensors of the params listed in ``shapes`` (``name -> (shape, kind)``,
    as :func:`golden.param_shapes`): float arrays as they are, projection weights packed i2
    with a float32 ``weight_scale`` of shape (1,) that loads back as their gamma."""
    tensors = {}
    for name, (_, kind) in shapes.items():
        if kind == "float":
            tensors[name] = np.ascontiguousarray(params[name])
        elif kind == "ternary":
            prefix = name[:-len(".weight")]
            tensors[name] = pack_i2(params[name])
            tensors[f"{prefix}.weight_scale"] = np.array(
                [_weight_scale(params[f"{prefix}.gamma"], prefix, linear_class)],
                dtype=np.float32)
    return tensors
