"""Architecture of a BitNet b1.58 transformer: HuggingFace ``model_type: "bitnet"``.

:class:`BitNetConfig` holds the fields of a HuggingFace ``config.json`` that the golden
transformer (:mod:`golden.model`) needs, validated up front. It reads the same keys and, for
optional keys, the same defaults as ``transformers``' ``BitNetConfig``, with two deliberate
differences:

* the five sizes (``vocab_size``, ``hidden_size``, ``intermediate_size``,
  ``num_hidden_layers``, ``num_attention_heads``) are required; HuggingFace silently falls
  back to the 2B-4T model's sizes;
* a missing ``num_key_value_heads`` means ``num_attention_heads`` (what HuggingFace's
  docstring promises; its constructor actually defaults to 5, the 2B-4T value), and missing
  ``bos_token_id`` / ``eos_token_id`` mean "none" rather than Llama 3's 128000 / 128001.

Keys that would change the architecture beyond what the golden model implements
(``hidden_act`` other than ``"relu2"``, ``attention_bias: true``, a ``rope_scaling``, a
``partial_rotary_factor`` other than 1) are refused instead of ignored.

:func:`param_shapes` lists the weights a config needs under their HuggingFace tensor names,
:func:`projection_names` the BitLinear projections in execution order, and
:func:`random_params` draws a seeded random set for tests and benchmarks.
"""

import dataclasses
import numbers

import numpy as np

from golden.checks import check_count
from golden.quant import quantize_weights

__all__ = ["BitNetConfig", "param_shapes", "projection_names", "random_params"]

_REQUIRED = ("vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
             "num_attention_heads")


def _count(d, key, default=None):
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{key} must be an integer, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{key} must be a positive integer, not {value}")
    return int(value)


def _positive(d, key, default):
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{key} must be a number, not {type(value).__name__}")
    if not 0 < value < float("inf"):
        raise ValueError(f"{key} must be positive and finite, not {value}")
    return float(value)


def _token_id(d, key, *, many=False):
    value = d.get(key)
    if value is None:
        return None
    items = value if many and isinstance(value, list) else [value]
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Integral):
            raise TypeError(f"{key} must be an integer{' or a list of integers' if many else ''}"
                            f" or null, not {type(item).__name__}")
        if item < 0:
            raise ValueError(f"{key} must be non-negative, not {item}")
    if many and isinstance(value, list):
        if not value:
            raise ValueError(f"{key} must not be an empty list")
        return tuple(int(item) for item in value)
    return int(value)


@dataclasses.dataclass(frozen=True)
class BitNetConfig:
    """Sizes and constants of a BitNet b1.58 decoder (HuggingFace ``model_type: "bitnet"``).

    Build it with :meth:`from_dict` from a parsed ``config.json``; the constructor takes the
    same fields as keywords and validates them identically.

    Members
    -------
    vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads : int
        Required, positive.
    num_key_value_heads : int
        Grouped-query attention: query head ``h`` reads key/value head
        ``h // (num_attention_heads // num_key_value_heads)``.
    head_dim : int
        Width of one head; ``num_attention_heads * head_dim`` must equal ``hidden_size``
        because ``attn_sub_norm`` normalizes the concatenated heads with ``hidden_size``
        weights. Even, for the half-split rotary embedding.
    rms_norm_eps : float
        Added to ``mean(x**2)`` in every RMSNorm (default ``1e-5``); used as float32.
    rope_theta : float
        Rotary base (default ``500000.0``).
    max_position_embeddings : int
        Longest sequence the model accepts (default 2048); also the size of the rotary table.
    tie_word_embeddings : bool
        ``lm_head`` reuses ``embed_tokens`` (default ``False``).
    bos_token_id, pad_token_id : int or None
    eos_token_id : int, tuple of int, or None
        A JSON list becomes a tuple; generation can stop at any of them.

    Raises
    ------
    TypeError
        ``"hidden_size must be an integer, not str"``, ``"tie_word_embeddings must be true or
        false, not int"``.
    ValueError
        ``"missing required field 'hidden_size'"``,
        ``"hidden_size 10 is not divisible by num_attention_heads 3"``,
        ``"num_attention_heads 6 is not a multiple of num_key_value_heads 4"``,
        ``"num_attention_heads * head_dim = 4 * 4 = 16 must equal hidden_size 12
        (attn_sub_norm has hidden_size weights)"``, ``"head_dim must be even for the rotary
        embedding, not 3"``, ``"hidden_act must be 'relu2', not 'silu'"``, and the messages
        of the refused keys.
    """

    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int | None = None
    head_dim: int | None = None
    rms_norm_eps: float = 1e-5
    rope_theta: float = 500000.0
    max_position_embeddings: int = 2048
    tie_word_embeddings: bool = False
    bos_token_id: int | None = None
    eos_token_id: int | tuple[int, ...] | None = None
    pad_token_id: int | None = None

    def __post_init__(self):
        d = dataclasses.asdict(self)
        if isinstance(self.eos_token_id, tuple):
            d["eos_token_id"] = list(self.eos_token_id)
        values = self._validate(d)
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @staticmethod
    def _validate(d):
        v = {key: _count(d, key) for key in _REQUIRED}
        heads = v["num_attention_heads"]
        kv = d.get("num_key_value_heads")
        v["num_key_value_heads"] = heads if kv is None else _count(d, "num_key_value_heads")
        if heads % v["num_key_value_heads"]:
            raise ValueError(f"num_attention_heads {heads} is not a multiple of "
                             f"num_key_value_heads {v['num_key_value_heads']}")
        if d.get("head_dim") is None:
            if v["hidden_size"] % heads:
                raise ValueError(f"hidden_size {v['hidden_size']} is not divisible by "
                                 f"num_attention_heads {heads}")
            v["head_dim"] = v["hidden_size"] // heads
        else:
            v["head_dim"] = _count(d, "head_dim")
            if heads * v["head_dim"] != v["hidden_size"]:
                raise ValueError(
                    f"num_attention_heads * head_dim = {heads} * {v['head_dim']} = "
                    f"{heads * v['head_dim']} must equal hidden_size {v['hidden_size']} "
                    f"(attn_sub_norm has hidden_size weights)")
        if v["head_dim"] % 2:
            raise ValueError(f"head_dim must be even for the rotary embedding, not {v['head_dim']}")
        v["rms_norm_eps"] = _positive(d, "rms_norm_eps", 1e-5)
        v["rope_theta"] = _positive(d, "rope_theta", 500000.0)
        v["max_position_embeddings"] = _count(d, "max_position_embeddings", 2048)
        tie = d.get("tie_word_embeddings", False)
        if not isinstance(tie, bool):
            raise TypeError(f"tie_word_embeddings must be true or false, not {type(tie).__name__}")
        v["tie_word_embeddings"] = tie
        v["bos_token_id"] = _token_id(d, "bos_token_id")
        v["eos_token_id"] = _token_id(d, "eos_token_id", many=True)
        v["pad_token_id"] = _token_id(d, "pad_token_id")
        return v

    @classmethod
    def from_dict(cls, d):
        """Build a config from a parsed HuggingFace ``config.json``.

        Parameters
        ----------
        d : dict
            Keys as in ``config.json``; unknown keys (``architectures``, ``torch_dtype``,
            ``quantization_config``, ...) are ignored, ``null`` optional values take their
            default.

        Returns
        -------
        BitNetConfig

        Raises
        ------
        TypeError, ValueError
            As for the class, plus ``"config must be a JSON object, not list"``,
            ``"model_type must be 'bitnet', not 'llama'"``,
            ``"attention_bias=true is not supported (BitNet has no biases)"``,
            ``"rope_scaling is not supported; only the default rotary embedding is"``,
            ``"partial_rotary_factor must be 1, not 0.5"``,
            ``"rope_parameters.rope_type must be 'default', not 'yarn'"``. The rotary base is
            ``rope_theta``, or ``rope_parameters.rope_theta`` as transformers 5 writes it.
        """
        if not isinstance(d, dict):
            raise TypeError(f"config must be a JSON object, not {type(d).__name__}")
        for key in _REQUIRED:
            if d.get(key) is None:
                raise ValueError(f"missing required field {key!r}")
        if d.get("model_type", "bitnet") != "bitnet":
            raise ValueError(f"model_type must be 'bitnet', not {d['model_type']!r}")
        if d.get("hidden_act", "relu2") != "relu2":
            raise ValueError(f"hidden_act must be 'relu2', not {d['hidden_act']!r}")
        if d.get("attention_bias", False) or d.get("mlp_bias", False):
            key = "attention_bias" if d.get("attention_bias", False) else "mlp_bias"
            raise ValueError(f"{key}=true is not supported (BitNet has no biases)")
        if d.get("rope_scaling") is not None:
            raise ValueError("rope_scaling is not supported; only the default rotary embedding is")
        if d.get("partial_rotary_factor", 1) != 1:
            raise ValueError(f"partial_rotary_factor must be 1, not {d['partial_rotary_factor']}")
        values = {f.name: d[f.name] for f in dataclasses.fields(cls) if d.get(f.name) is not None}
        # transformers 5 writes the rotary settings as rope_parameters = {"rope_theta": ...,
        # "rope_type": "default"} instead of a top-level rope_theta.
        rope = d.get("rope_parameters")
        if rope is not None:
            if not isinstance(rope, dict):
                raise TypeError(f"rope_parameters must be a JSON object, not {type(rope).__name__}")
            if rope.get("rope_type", "default") != "default":
                raise ValueError(f"rope_parameters.rope_type must be 'default', "
                                 f"not {rope['rope_type']!r}")
            if rope.get("partial_rotary_factor", 1) != 1:
                raise ValueError(f"rope_parameters.partial_rotary_factor must be 1, "
                                 f"not {rope['partial_rotary_factor']}")
            if rope.get("rope_theta") is not None:
                if "rope_theta" in values and values["rope_theta"] != rope["rope_theta"]:
                    raise ValueError(f"rope_theta={values['rope_theta']} and "
                                     f"rope_parameters.rope_theta={rope['rope_theta']} disagree")
                values["rope_theta"] = rope["rope_theta"]
        # A list-valued eos_token_id is validated and turned into a tuple by __post_init__.
        return cls(**values)

    @property
    def eos_token_ids(self):
        """``eos_token_id`` as a tuple (empty when there is none)."""
        if self.eos_token_id is None:
            return ()
        return self.eos_token_id if isinstance(self.eos_token_id, tuple) else (self.eos_token_id,)

    def to_dict(self):
        """The HuggingFace ``config.json`` fields of this config (a new dict).

        Includes ``model_type``, ``architectures`` and ``hidden_act`` so that ``transformers``
        reads it as a BitNet model; ``None`` token ids are written as ``null``.
        """
        d = {"architectures": ["BitNetForCausalLM"], "model_type": "bitnet",
             "hidden_act": "relu2"}
        d.update(dataclasses.asdict(self))
        if isinstance(self.eos_token_id, tuple):
            d["eos_token_id"] = list(self.eos_token_id)
        return d


_ATTN = ("q_proj", "k_proj", "v_proj", "o_proj")
_MLP = ("gate_proj", "up_proj", "down_proj")


def projection_names(config):
    """Names of the BitLinear projections in execution order, e.g.
    ``"model.layers.0.self_attn.q_proj"`` (the checkpoint tensor name without ``.weight``)."""
    return [f"model.layers.{i}.{block}.{name}" for i in range(config.num_hidden_layers)
            for block, names in (("self_attn", _ATTN), ("mlp", _MLP)) for name in names]


def param_shapes(config):
    """Every entry of a params dict: ``name -> (shape, kind)``.

    ``kind`` is ``"float"`` (float32 array), ``"ternary"`` (int8 ``{-1, 0, +1}`` weights
    ``[out, in]`` of a projection, key ``<projection>.weight``) or ``"gamma"`` (the float32
    scalar of that projection, key ``<projection>.gamma``, so that ``W ~= weight * gamma``).
    """
    c = config
    hidden, inter, q_out, kv_out = (c.hidden_size, c.intermediate_size,
                                    c.num_attention_heads * c.head_dim,
                                    c.num_key_value_heads * c.head_dim)
    proj = {"q_proj": (q_out, hidden), "k_proj": (kv_out, hidden), "v_proj": (kv_out, hidden),
            "o_proj": (hidden, q_out), "gate_proj": (inter, hidden), "up_proj": (inter, hidden),
            "down_proj": (hidden, inter)}
    shapes = {"model.embed_tokens.weight": ((c.vocab_size, hidden), "float")}
    for i in range(c.num_hidden_layers):
        p = f"model.layers.{i}"
        shapes[f"{p}.input_layernorm.weight"] = ((hidden,), "float")
        shapes[f"{p}.post_attention_layernorm.weight"] = ((hidden,), "float")
        shapes[f"{p}.self_attn.attn_sub_norm.weight"] = ((hidden,), "float")
        shapes[f"{p}.mlp.ffn_sub_norm.weight"] = ((inter,), "float")
    for name in projection_names(c):
        shapes[f"{name}.weight"] = (proj[name.rsplit(".", 1)[1]], "ternary")
        shapes[f"{name}.gamma"] = ((), "gamma")
    shapes["model.norm.weight"] = ((hidden,), "float")
    if not c.tie_word_embeddings:
        shapes["lm_head.weight"] = ((c.vocab_size, hidden), "float")
    return shapes


def random_params(config, *, seed=0):
    """A random but well-scaled params dict for ``config`` (for tests and benchmarks).

    Embeddings are standard normal, norm weights uniform in [0.5, 1.5), projections are
    normal with standard deviation ``in**-0.5`` ternarized by :func:`golden.quantize_weights`,
    and an untied ``lm_head`` is normal with standard deviation ``hidden**-0.5``. The same
    ``seed`` gives the same params.
    """
    rng = np.random.default_rng(check_count(seed, "seed"))
    params = {}
    for name, (shape, kind) in param_shapes(config).items():
        if kind == "ternary":
            latent = rng.standard_normal(shape, dtype=np.float32) / np.float32(np.sqrt(shape[1]))
            params[name], params[name[:-len("weight")] + "gamma"] = quantize_weights(latent)
        elif kind == "float" and len(shape) == 1:
            params[name] = rng.uniform(0.5, 1.5, shape).astype(np.float32)
        elif kind == "float":
            scale = 1.0 if name.startswith("model.") else config.hidden_size ** -0.5
            params[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
    return params
