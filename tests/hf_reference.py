"""Tiny BitNet b1.58 checkpoints written and run by HuggingFace ``transformers``.

The reference side of ``test_golden_hf_reference.py``. Everything here goes
through ``transformers`` itself, so the golden model is compared with
HuggingFace's own code and not with a re-statement of it:

* :func:`build_checkpoint` starts from a randomly initialised float
  ``BitNetForCausalLM``, ternarizes every projection of the decoder layers,
  packs it with ``transformers.integrations.bitnet.pack_weights`` and writes a
  directory laid out like a published packed checkpoint: ``config.json`` (with
  ``quantization_config``) and ``model.safetensors`` (uint8 weights of shape
  ``[out / 4, in]`` plus a one-element ``weight_scale`` per projection).
* :func:`load_reference` reads the directory back with
  ``BitNetForCausalLM.from_pretrained``, so HuggingFace's quantizer swaps in its
  ``BitLinear`` (``linear_class="bitlinear"``) or ``AutoBitLinear``
  (``"autobitlinear"``), unpacks the weights and runs the reference forward in
  float32 on the CPU.

The two ``linear_class`` values read ``weight_scale`` in opposite senses:
``BitLinear`` divides, ``y_int / (weight_scale * input_scale)``, so the
effective weight is ``W = t / weight_scale``; ``AutoBitLinear`` multiplies,
``linear(x_dequant, t) * weight_scale``, so ``W = t * weight_scale``.
:func:`build_checkpoint` stores ``1 / gamma`` or ``gamma`` accordingly, so the
same ternary model has the same effective weights under either convention.

Import this module only after setting ``TORCHDYNAMO_DISABLE=1``: the HF BitNet
layers are wrapped in ``torch.compile``, which is decided when
``transformers.integrations.bitnet`` is first imported.
"""

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from transformers import BitNetConfig, BitNetForCausalLM
from transformers.integrations.bitnet import (
    AutoBitLinear,
    BitLinear,
    pack_weights,
    unpack_weights,
)

__all__ = [
    "LINEAR_CLASSES",
    "PROJECTIONS",
    "TinyBitNet",
    "build_checkpoint",
    "load_reference",
    "reference_logits",
    "reference_greedy",
    "quantization_margin",
]

#: The two ``quantization_config.linear_class`` values of HF's BitNet quantizer.
LINEAR_CLASSES = ("bitlinear", "autobitlinear")

#: The ternary projections of one decoder layer (HF module names).
PROJECTIONS = (
    "self_attn.q_proj",
    "self_attn.k_proj",
    "self_attn.v_proj",
    "self_attn.o_proj",
    "mlp.gate_proj",
    "mlp.up_proj",
    "mlp.down_proj",
)


@dataclass(frozen=True, kw_only=True)
class TinyBitNet:
    """Shape, conventions and seed of one tiny random BitNet checkpoint.

    ``intermediate_size`` and every projection's output size must be multiples
    of 4 (HF's ``BitLinear`` allocates ``out // 4`` packed rows).
    ``rope_theta`` and ``rms_norm_eps`` differ from HF's ``BitNetConfig`` defaults
    (500000 and 1e-5) on purpose, so a loader that ignores ``config.json``
    fails.

    ``legacy_config`` writes ``config.json`` the way ``transformers`` 4.x did,
    and checkpoints published before version 5 have it, with a top-level
    ``rope_theta`` instead of the ``rope_parameters`` object of version 5.
    ``storage_dtype`` (``"float32"`` or ``"bfloat16"``) is the dtype of every
    float tensor in ``model.safetensors``: embeddings, norms, ``lm_head`` and
    the ``weight_scale`` values.
    """

    linear_class: str = "bitlinear"
    vocab_size: int = 128
    hidden_size: int = 64
    intermediate_size: int = 96
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    max_position_embeddings: int = 64
    rope_theta: float = 10000.0
    rms_norm_eps: float = 1e-6
    tie_word_embeddings: bool = False
    legacy_config: bool = False
    storage_dtype: str = "float32"
    seed: int = 0

    def __post_init__(self):
        if self.linear_class not in LINEAR_CLASSES:
            raise ValueError(
                f"linear_class must be 'bitlinear' or 'autobitlinear', not {self.linear_class!r}"
            )
        head_dim = self.hidden_size // self.num_attention_heads
        for name, out in [
            ("hidden_size", self.hidden_size),
            ("intermediate_size", self.intermediate_size),
            ("num_key_value_heads * head_dim", self.num_key_value_heads * head_dim),
        ]:
            if out % 4:
                raise ValueError(f"{name} must be a multiple of 4, not {out}")
        if self.storage_dtype not in ("float32", "bfloat16"):
            raise ValueError(
                f"storage_dtype must be 'float32' or 'bfloat16', not {self.storage_dtype!r}"
            )

    def hf_config(self):
        return BitNetConfig(
            vocab_size=self.vocab_size,
            hidden_size=self.hidden_size,
            intermediate_size=self.intermediate_size,
            num_hidden_layers=self.num_hidden_layers,
            num_attention_heads=self.num_attention_heads,
            num_key_value_heads=self.num_key_value_heads,
            max_position_embeddings=self.max_position_embeddings,
            rope_parameters={"rope_type": "default", "rope_theta": self.rope_theta},
            rms_norm_eps=self.rms_norm_eps,
            tie_word_embeddings=self.tie_word_embeddings,
            # no BOS/EOS: greedy generation never stops early
            bos_token_id=None,
            eos_token_id=None,
            pad_token_id=None,
        )


def _hf_ternarize(w):
    """HF's absmean ternarization (``WeightQuant.forward``): ``t`` and ``1 / gamma``."""
    w = w.float()
    inv_gamma = 1.0 / w.abs().mean().clamp(min=1e-5)
    t = (w * inv_gamma).round().clamp(-1, 1)
    return t, inv_gamma


def build_checkpoint(directory, spec):
    """Write a packed HF BitNet checkpoint for ``spec`` into ``directory``.

    Returns what was written, for :func:`load_reference` to check HF against:
    the ternary weight of every projection (``ternary[name]``, int8
    ``[out, in]``) and its stored ``weight_scale`` (``scales[name]``, as
    float32).

    Randomness, all from ``torch.manual_seed(spec.seed)``:

    * HF's own initialisation of the float model (``initializer_range``);
    * each projection's float weight multiplied by ``exp(U(-0.7, 0.7))``
      before ternarization, so the scales differ from one projection to the
      next and a loader that swaps them is caught;
    * every RMSNorm gain drawn as ``1 + 0.25 N(0, 1)``, so a misplaced or
      missing norm changes the result (HF initialises them to ones);
    * the float ``lm_head`` (kept float by HF's quantizer) drawn as
      ``0.3 N(0, 1)``, giving logits of order 1 and clear greedy choices;
      with ``tie_word_embeddings`` it is not stored and the embedding table
      (HF's init otherwise) is drawn as ``0.1 N(0, 1)`` instead.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    dtype = getattr(torch, spec.storage_dtype)
    torch.manual_seed(spec.seed)
    config = spec.hf_config()
    model = BitNetForCausalLM(config)

    quantized = {
        f"model.layers.{i}.{p}.weight"
        for i in range(spec.num_hidden_layers)
        for p in PROJECTIONS
    }
    tensors, ternary, scales = {}, {}, {}
    with torch.no_grad():
        for key, value in model.state_dict().items():
            value = value.detach().float().clone()
            if key in quantized:
                name = key.removesuffix(".weight")
                factor = math.exp(torch.empty(()).uniform_(-0.7, 0.7).item())
                t, inv_gamma = _hf_ternarize(value * factor)
                # pack_weights adds 1 in place, hence the copy
                tensors[key] = pack_weights(t.to(torch.int8).clone()).contiguous()
                if spec.linear_class == "bitlinear":
                    scale = inv_gamma  # BitLinear: W = t / weight_scale
                else:
                    scale = 1.0 / inv_gamma  # AutoBitLinear: W = t * weight_scale
                scale = scale.reshape(1).to(dtype)
                tensors[f"{name}.weight_scale"] = scale
                ternary[name] = t.to(torch.int8).numpy()
                scales[name] = np.float32(scale.float().item())
            elif key.endswith("norm.weight"):
                tensors[key] = 1.0 + 0.25 * torch.randn(value.shape)
            elif key == "lm_head.weight":
                if spec.tie_word_embeddings:
                    continue  # tied to model.embed_tokens.weight, not stored
                tensors[key] = 0.3 * torch.randn(value.shape)
            elif key == "model.embed_tokens.weight" and spec.tie_word_embeddings:
                tensors[key] = 0.1 * torch.randn(value.shape)  # it is the lm_head too
            else:
                tensors[key] = value
            if tensors.get(key) is not None and tensors[key].is_floating_point():
                tensors[key] = tensors[key].to(dtype)

    config.quantization_config = {
        "quant_method": "bitnet",
        "linear_class": spec.linear_class,
        "quantization_mode": "offline",
    }
    config.save_pretrained(directory)
    if spec.legacy_config:
        path = directory / "config.json"
        raw = json.loads(path.read_text())
        raw["rope_theta"] = raw.pop("rope_parameters")["rope_theta"]
        path.write_text(json.dumps(raw, indent=2, sort_keys=True) + "\n")
    save_file(tensors, directory / "model.safetensors", metadata={"format": "pt"})
    (directory / "tiny_bitnet.json").write_text(json.dumps(asdict(spec), indent=2) + "\n")
    return {"ternary": ternary, "scales": scales}


def load_reference(directory, *, expect=None):
    """Load ``directory`` with ``BitNetForCausalLM.from_pretrained`` in float32.

    Eager attention (the plain softmax formula) on the CPU. Raises
    ``AssertionError`` if HF reports missing, unexpected or mismatched keys
    (a missing ``weight_scale`` would silently stay 1), if a projection is not
    HF's ``BitLinear`` / ``AutoBitLinear``, or, given ``expect`` (the result of
    :func:`build_checkpoint`), if HF's unpacked weights or scales differ from
    what was written.
    """
    model, info = BitNetForCausalLM.from_pretrained(
        directory,
        dtype=torch.float32,
        attn_implementation="eager",
        output_loading_info=True,
    )
    problems = {k: v for k, v in info.items() if v}
    assert not problems, f"HF did not load the checkpoint cleanly: {problems}"
    model.eval()
    linear_class = model.config.quantization_config.linear_class
    layer_type = BitLinear if linear_class == "bitlinear" else AutoBitLinear
    for i, layer in enumerate(model.model.layers):
        for p in PROJECTIONS:
            name = f"model.layers.{i}.{p}"
            module = layer.get_submodule(p)
            assert type(module) is layer_type, f"{name} is {type(module).__name__}"
            if expect is None:
                continue
            if layer_type is BitLinear:
                t = unpack_weights(module.weight, dtype=torch.float32)[: module.out_features]
            else:
                t = module.weight
            np.testing.assert_array_equal(t.detach().numpy(), expect["ternary"][name], err_msg=name)
            assert module.weight_scale.item() == expect["scales"][name], name
    return model


@torch.no_grad()
def reference_logits(model, ids):
    """HF logits of one sequence: ``ids`` int ``[T]`` -> float32 ``[T, vocab]``."""
    x = torch.as_tensor(np.asarray(ids, dtype=np.int64)).reshape(1, -1)
    return model(x, use_cache=False).logits[0].numpy()


@torch.no_grad()
def reference_greedy(model, prompt_ids, max_new_tokens):
    """HF greedy continuation (``generate``, KV cache): the new ids only, int64 ``[n]``."""
    x = torch.as_tensor(np.asarray(prompt_ids, dtype=np.int64)).reshape(1, -1)
    out = model.generate(
        x,
        attention_mask=torch.ones_like(x),
        max_new_tokens=max_new_tokens,
        min_new_tokens=max_new_tokens,
        do_sample=False,
    )
    return out[0, x.shape[1]:].numpy()


@torch.no_grad()
def quantization_margin(model, ids):
    """How close HF's activation quantization of ``ids`` came to a rounding tie.

    Every ternary projection rounds ``v = x * (127 / max|x|)`` (per token) to
    an integer. Two float32 implementations that agree to a few ulps in ``v``
    round it the same way unless ``v`` lies within those few ulps of a tie
    ``n + 0.5``; when they round differently the layer's output moves by a
    whole int8 step, far more than float32 noise. Returns ``(ulps, value,
    where)`` for the element closest to a tie measured in float32 ulps of
    ``v``: ``ulps = |v - floor(v) - 0.5| / spacing(v)`` (0 for an exact tie),
    its ``value`` and ``where`` (module, token, column).
    """
    best = [math.inf, math.nan, None]
    handles = []

    def watch(name):
        def hook(module, args):
            x = args[0].float()[0]  # [T, K], batch of one
            v = x * (127 / x.abs().amax(-1, keepdim=True).clamp(min=1e-5))
            ulp = torch.nextafter(v.abs(), torch.tensor(math.inf)) - v.abs()
            ulps = ((v - v.floor()) - 0.5).abs() / ulp
            token, column = divmod(int(ulps.argmin()), ulps.shape[1])
            if ulps[token, column] < best[0]:
                best[:] = [float(ulps[token, column]), float(v[token, column]),
                           f"{name} token {token} column {column}"]
        return hook

    for name, module in model.named_modules():
        if isinstance(module, (BitLinear, AutoBitLinear)):
            handles.append(module.register_forward_pre_hook(watch(name)))
    try:
        reference_logits(model, ids)
    finally:
        for handle in handles:
            handle.remove()
    return tuple(best)
