"""BitNet b1.58 in PyTorch for quantization-aware training (QAT).

The architecture is HuggingFace's ``bitnet`` (``BitNetForCausalLM``) and the
parameter names are its state-dict keys, so the trained weights go straight
into the golden model (``golden.BitNetModel``) and its checkpoint writer:

* ``model.embed_tokens`` (float), then per layer ``i``::

      n = input_layernorm(x)
      h = x + o_proj(attn_sub_norm(attention(q_proj(n), k_proj(n), v_proj(n))))
      n = post_attention_layernorm(h)
      x = h + down_proj(ffn_sub_norm(relu(gate_proj(n)) ** 2 * up_proj(n)))

* ``model.norm``, then ``lm_head`` (float, unquantized; tied to the
  embedding when ``tie_word_embeddings``).

RMSNorm is ``(x * (1 / sqrt(mean(x*x) + eps))) * weight``. Attention is causal,
scaled by ``head_dim ** -0.5``, with grouped-query heads (``num_key_value_heads``
divides ``num_attention_heads``) and rotary embeddings in the half-split
(``rotate_half``) layout with ``rope_theta``.

Every q/k/v/o/gate/up/down projection is a :class:`BitLinear` without bias.
Its forward pass sees exactly the quantized numbers of ``golden.bitlinear``:

* weights, per tensor: ``gamma = max(mean|W|, 1e-5)``,
  ``Wq = clip(round(W / gamma), -1, 1)``;
* activations, per token: ``s = 127 / max(max|x|, 1e-5)``,
  ``Xq = clip(round(x * s), -128, 127)``;
* output ``(Xq @ Wq.T) / s * gamma``.

In training the rounding is bridged with the straight-through estimator
(``x + (q(x) - x).detach()``), as in the BitNet b1.58 recipe: the latent
float weights receive the gradient of the quantized forward pass. In
evaluation (``model.eval()``) the product is taken on the integer values, in
the golden order of operations, so a linear layer agrees with
``golden.bitlinear`` up to the last bit of ``gamma`` (torch's mean vs NumPy's
pairwise sum).
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["TrainConfig", "BitLinear", "RMSNorm", "BitNetForCausalLM", "EPS"]

#: Floor of mean|W| and of max|x| in the quantizers, as in golden.EPS.
EPS = 1e-5


@dataclass(frozen=True)
class TrainConfig:
    """Model shape, with HuggingFace ``BitNetConfig`` field names."""

    vocab_size: int
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 4
    max_position_embeddings: int = 64
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0
    tie_word_embeddings: bool = True

    def __post_init__(self):
        if self.hidden_size % self.num_attention_heads:
            raise ValueError(
                f"hidden_size {self.hidden_size} must be a multiple of "
                f"num_attention_heads {self.num_attention_heads}"
            )
        if self.num_attention_heads % self.num_key_value_heads:
            raise ValueError(
                f"num_attention_heads {self.num_attention_heads} must be a multiple of "
                f"num_key_value_heads {self.num_key_value_heads}"
            )
        if (self.hidden_size // self.num_attention_heads) % 2:
            raise ValueError("head_dim must be even for rotary embeddings")

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads

    def to_dict(self):
        return asdict(self)


def weight_quant(w):
    """``(Wq, gamma)``: ternary integers (as float) and the absmean scale."""
    gamma = w.abs().mean().clamp(min=EPS)
    return (w / gamma).round().clamp(-1, 1), gamma


def activation_quant(x):
    """``(Xq, s)``: int8 integers (as float) and the per-token scale ``[..., 1]``."""
    s = 127.0 / x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
    return (x * s).round().clamp(-128, 127), s


class BitLinear(nn.Linear):
    """Linear layer without bias, ternary weights and int8 activations (see module doc)."""

    def __init__(self, in_features, out_features):
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x):
        wq, gamma = weight_quant(self.weight)
        xq, s = activation_quant(x)
        if self.training:
            # Straight-through estimator: forward the dequantized values,
            # backward the identity.
            w = self.weight + (wq * gamma - self.weight).detach()
            x = x + (xq / s - x).detach()
            return F.linear(x, w)
        # Integer product, exact in float32 while |Y| <= 2**24 (K <= 131072),
        # then the golden dequantization (Y / s) * gamma.
        return (F.linear(xq, wq) / s) * gamma


class RMSNorm(nn.Module):
    def __init__(self, size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(size))
        self.eps = eps

    def forward(self, x):
        # The golden order: (x * (1 / sqrt(mean(x * x) + eps))) * weight.
        variance = (x * x).mean(-1, keepdim=True)
        return (x * (1.0 / torch.sqrt(variance + self.eps))) * self.weight


def rope_tables(config, length, device=None):
    """``cos, sin`` of shape ``[length, head_dim]`` (frequencies repeated for both halves)."""
    dim = config.head_dim
    inv_freq = 1.0 / (
        config.rope_theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim)
    )
    freqs = torch.outer(torch.arange(length, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos().to(device), emb.sin().to(device)


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        d, hd = config.hidden_size, config.head_dim
        self.q_proj = BitLinear(d, config.num_attention_heads * hd)
        self.k_proj = BitLinear(d, config.num_key_value_heads * hd)
        self.v_proj = BitLinear(d, config.num_key_value_heads * hd)
        self.o_proj = BitLinear(config.num_attention_heads * hd, d)
        self.attn_sub_norm = RMSNorm(d, config.rms_norm_eps)

    def forward(self, x, cos, sin):
        c = self.config
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, c.num_attention_heads, c.head_dim).transpose(1, 2)
        k = self.k_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        v = self.v_proj(x).view(b, t, c.num_key_value_heads, c.head_dim).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        groups = c.num_attention_heads // c.num_key_value_heads
        if groups > 1:
            k = k.repeat_interleave(groups, dim=1)
            v = v.repeat_interleave(groups, dim=1)
        scores = (q @ k.transpose(-1, -2)) * c.head_dim**-0.5
        causal = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        scores = scores.masked_fill(causal, float("-inf"))
        out = scores.softmax(dim=-1) @ v
        out = out.transpose(1, 2).reshape(b, t, c.num_attention_heads * c.head_dim)
        return self.o_proj(self.attn_sub_norm(out))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        d, f = config.hidden_size, config.intermediate_size
        self.gate_proj = BitLinear(d, f)
        self.up_proj = BitLinear(d, f)
        self.down_proj = BitLinear(f, d)
        self.ffn_sub_norm = RMSNorm(f, config.rms_norm_eps)

    def forward(self, x):
        return self.down_proj(
            self.ffn_sub_norm(F.relu(self.gate_proj(x)).square() * self.up_proj(x))
        )


class DecoderLayer(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.self_attn = Attention(config)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.mlp = MLP(config)

    def forward(self, x, cos, sin):
        h = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return h + self.mlp(self.post_attention_layernorm(h))


class Backbone(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)


class BitNetForCausalLM(nn.Module):
    """The whole model; ``state_dict()`` keys are HuggingFace's ``BitNetForCausalLM`` keys."""

    def __init__(self, config, *, init_std=0.02):
        super().__init__()
        self.config = config
        self.model = Backbone(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, mean=0.0, std=init_std)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        cos, sin = rope_tables(config, config.max_position_embeddings)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def forward(self, ids):
        """Logits ``[B, T, vocab]`` for token ids ``[B, T]``."""
        t = ids.shape[1]
        if t > self.config.max_position_embeddings:
            raise ValueError(
                f"sequence of {t} tokens is longer than max_position_embeddings "
                f"{self.config.max_position_embeddings}"
            )
        cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    @torch.no_grad()
    def generate_greedy(self, ids, new_tokens):
        """Append ``new_tokens`` greedy tokens to each row of ``ids`` ``[B, T]``; returns them ``[B, new]``."""
        out = ids
        for _ in range(new_tokens):
            nxt = self(out)[:, -1].argmax(dim=-1, keepdim=True)
            out = torch.cat((out, nxt), dim=1)
        return out[:, ids.shape[1] :]

    def bitlinear_weights(self):
        """``{name: latent weight}`` of every BitLinear (the tensors to ternarize on export)."""
        return {
            f"{name}.weight": module.weight
            for name, module in self.named_modules()
            if isinstance(module, BitLinear)
        }

    def count_parameters(self):
        """``(ternary, float)`` parameter counts, each tied tensor counted once."""
        ternary = sum(w.numel() for w in self.bitlinear_weights().values())
        total = sum(p.numel() for p in self.parameters())  # parameters() dedups tied ones
        return ternary, total - ternary
