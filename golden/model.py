"""The golden BitNet b1.58 transformer (HuggingFace ``model_type: "bitnet"``) in NumPy float32.

Architecture (``transformers`` ``modeling_bitnet.py``), for a sequence of ``T`` tokens::

    x = embed_tokens[ids]                                         [T, hidden]
    for each layer:
        a = attention(input_layernorm(x))                         [T, heads*head_dim]
        h = x + o_proj(attn_sub_norm(a))
        n = post_attention_layernorm(h)
        x = h + down_proj(ffn_sub_norm(relu(gate_proj(n))**2 * up_proj(n)))
    logits = lm_head(norm(x))                                     [T, vocab]

Every ``*_proj`` is a BitLinear layer computed by :func:`golden.bitlinear` through the one
integer GEMM backend ``model.gemm``; ``lm_head`` is a plain float32 product (tied to
``embed_tokens`` when ``tie_word_embeddings``). ``docs/model.md`` states the contract.

Numerics. Every step is float32 and, where it reduces, has a fixed summation order, so the
logits do not depend on a BLAS library, on how many tokens one call processes, or on the
cache: prefill and token-by-token decoding give identical arrays (``np.array_equal``).

Batches. :meth:`BitNetModel.forward_batch` runs several sequences (each with its own cache and
positions, of any lengths) in one pass: every BitLinear projection is one GEMM over the rows of
all sequences stacked, attention runs per sequence. Every step but attention is row by row
(activations are quantized per token, the integer GEMM is exact), so each sequence's logits
equal its own :meth:`~BitNetModel.forward` bit for bit. :meth:`BitNetModel.steps_batch` is
batched decode on top of it (prefill stacked, then one GEMM per projection per decode step with
``M`` = the live sequences); the single-sequence loop is the same code with a batch of one.

* RMSNorm: ``(x * (1 / sqrt(mean(x*x) + eps))) * weight``; ``mean`` is NumPy's pairwise
  float32 sum over the row divided by its length.
* Rotary embedding, half split (``rotate_half``): ``inv_freq[i] = 1 / theta**(2i/d)``,
  ``angle = position * inv_freq``, ``q*cos + rotate_half(q)*sin`` with
  ``cos = cos(cat(angle, angle))``; cos/sin are tabulated once for every position below
  ``max_position_embeddings``.
* Attention: ``score = (sum_j q_j k_j) * head_dim**-0.5`` summed sequentially over ``j``;
  causal softmax ``exp(score - max) / sum`` with the sum sequential over key positions;
  output ``sum_s p_s v_s`` sequential over key positions. Masked positions contribute exact
  zeros, so a shorter key range gives the same bits.
* ``lm_head``: ``logits[t, v] = sum_k x[t, k] * W[v, k]``, sequential over ``k``.
"""

import numbers
import types

import numpy as np

from golden.checks import (as_integer_array, as_real_array, check_count, check_ternary,
                           first_bad_index, format_index)
from golden.config import BitNetConfig, param_shapes, projection_names
from golden.gemm import int_gemm
from golden.quant import checked_bitlinear

__all__ = ["BitNetModel", "KVCache"]


def _check_param(name, value, shape, kind):
    """Validated copy of one params entry (see :func:`golden.param_shapes` for ``kind``)."""
    label = f"params[{name!r}]"
    if kind == "gamma":
        g = np.asarray(value)
        if g.shape != () or g.dtype == bool or not (np.issubdtype(g.dtype, np.floating)
                                                    or np.issubdtype(g.dtype, np.integer)):
            raise TypeError(f"{label} must be a real scalar, not {type(value).__name__}")
        g = np.float32(g)
        if not (np.isfinite(g) and g > 0):
            raise ValueError(f"{label} must be positive and finite in float32, not {float(g)}")
        return g
    if kind == "ternary":
        arr = check_ternary(value, label)
    else:
        arr = as_real_array(value, label)
    if arr.shape != shape:
        raise ValueError(f"{label} must have shape {shape}, got {arr.shape}")
    if kind == "ternary":
        return np.array(arr, dtype=np.int8, order="C")          # a copy, made read-only later
    with np.errstate(over="ignore"):
        arr = np.array(arr, dtype=np.float32, order="C")
    bad = ~np.isfinite(arr)
    if bad.any():
        index = first_bad_index(bad)
        raise ValueError(f"{label} must be finite in float32; found {arr[index]} "
                         f"at {format_index(index)}")
    return arr


class KVCache:
    """Rotated keys and values of the positions a model has already processed.

    Make one with :meth:`BitNetModel.new_cache`; :meth:`BitNetModel.forward` appends to it.
    Per layer it holds keys and values as float32 ``[kv_heads, head_dim, capacity]``.

    Members
    -------
    length : int
        Number of cached positions; the next token gets this position. Only a completed
        forward pass advances it, so a pass that raises leaves the cache as it was.
    """

    def __init__(self, config):
        if not isinstance(config, BitNetConfig):
            raise TypeError(f"config must be a BitNetConfig, not {type(config).__name__}")
        self.config = config
        self.length = 0
        self._keys = [None] * config.num_hidden_layers
        self._values = [None] * config.num_hidden_layers

    def _store(self, layer, k, v):
        """Write ``k, v`` ``[kv, d, T]`` at positions ``length..length+T-1``; return all
        keys and values ``[kv, d, length+T]`` of this layer."""
        end = self.length + k.shape[-1]
        keys, values = self._keys[layer], self._values[layer]
        if keys is None or keys.shape[-1] < end:
            capacity = max(end, 16 if keys is None else 2 * keys.shape[-1])
            grown = [np.zeros(k.shape[:2] + (capacity,), np.float32) for _ in range(2)]
            if keys is not None:
                grown[0][..., :self.length] = keys[..., :self.length]
                grown[1][..., :self.length] = values[..., :self.length]
            keys, values = self._keys[layer], self._values[layer] = grown
        keys[..., self.length:end] = k
        values[..., self.length:end] = v
        return keys[..., :end], values[..., :end]


def _rms_norm(x, weight, eps):
    """``x`` float32 ``[T, n]`` -> ``(x * (1 / sqrt(mean(x*x) + eps))) * weight``."""
    variance = np.mean(x * x, axis=-1, keepdims=True, dtype=np.float32)
    return (x * (np.float32(1) / np.sqrt(variance + eps))) * weight


def _rotate(x, cos, sin):
    """Half-split rotary embedding of ``x`` ``[..., T, d]`` with ``cos, sin`` ``[T, d]``."""
    half = x.shape[-1] // 2
    rotated = np.concatenate([-x[..., half:], x[..., :half]], axis=-1)
    return x * cos + rotated * sin


def _attention(q, keys, values, start, scale):
    """Causal attention. ``q`` ``[kv, G, T, d]`` at positions ``start..start+T-1``;
    ``keys, values`` ``[kv, d, S]`` with ``S = start + T``. Returns float32 ``[kv, G, T, d]``."""
    kv, groups, t, d = q.shape
    s = keys.shape[-1]
    scores = np.zeros((kv, groups, t, s), np.float32)
    term = np.empty_like(scores)
    for j in range(d):                               # sequential over the head dimension
        np.multiply(q[..., j, None], keys[:, None, None, j, :], out=term)
        scores += term
    scores *= scale
    future = np.arange(s)[None, :] > (start + np.arange(t))[:, None]
    scores[:, :, future] = -np.inf
    e = np.exp(scores - scores.max(axis=-1, keepdims=True))
    p = e / np.cumsum(e, axis=-1)[..., -1:]          # sequential sum over key positions
    out = np.empty_like(q)
    for j in range(d):
        np.multiply(p, values[:, None, None, j, :], out=term)
        out[..., j] = np.cumsum(term, axis=-1)[..., -1]
    return out


class BitNetModel:
    """A BitNet b1.58 decoder with its weights: ``model(token_ids) -> logits``.

    Parameters
    ----------
    config : BitNetConfig
    params : mapping of str to array
        Exactly the entries of :func:`param_shapes` (HuggingFace tensor names; ternary
        projection weights ``<proj>.weight`` int ``[out, in]`` plus their float32 scalar
        ``<proj>.gamma``). Copied as contiguous float32 / int8 arrays.
    gemm : callable, keyword-only
        Integer GEMM backend ``gemm(xq int8 [M, K], wq int8 [N, K]) -> int [M, N]`` used by
        every projection; default :func:`golden.int_gemm`. Settable later as ``model.gemm``.
    tokenizer : optional, keyword-only
        Kept as ``model.tokenizer`` (see :mod:`golden.tokenizer`); the model never uses it.

    Members
    -------
    config, tokenizer, gemm
    params : read-only mapping of the validated arrays.
    current_projection : str or None
        During a projection's GEMM call, its name (``"model.layers.3.self_attn.q_proj"``,
        see :func:`projection_names`), so a hardware backend knows which weights it serves;
        ``None`` between calls.

    Raises
    ------
    TypeError
        ``"config must be a BitNetConfig, not dict"``, ``"gemm must be callable, not int"``,
        ``"params['model.norm.weight'] must be a real numeric array, got bool"``.
    ValueError
        ``"params is missing 'lm_head.weight'"``, ``"params has unexpected entry 'x'"``,
        ``"params['model.norm.weight'] must have shape (32,), got (31,)"``, and the messages
        of :func:`golden.check_ternary` and of non-finite or non-positive values.
    """

    def __init__(self, config, params, *, gemm=None, tokenizer=None):
        if not isinstance(config, BitNetConfig):
            raise TypeError(f"config must be a BitNetConfig, not {type(config).__name__}")
        if not hasattr(params, "keys") or not hasattr(params, "__getitem__"):
            raise TypeError(f"params must be a mapping of names to arrays, "
                            f"not {type(params).__name__}")
        shapes = param_shapes(config)
        for name in shapes:
            if name not in params:
                raise ValueError(f"params is missing {name!r}")
        for name in params:
            if name not in shapes:
                raise ValueError(f"params has unexpected entry {name!r}")
        checked = {name: _check_param(name, params[name], *shapes[name]) for name in shapes}
        for value in checked.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        self.config = config
        self.params = types.MappingProxyType(checked)
        self.gemm = int_gemm if gemm is None else gemm
        self.tokenizer = tokenizer
        self.current_projection = None
        head = checked["lm_head.weight" if "lm_head.weight" in checked
                       else "model.embed_tokens.weight"]
        self._lm_head_t = np.ascontiguousarray(head.T)           # [hidden, vocab]
        d = config.head_dim
        exponents = np.arange(0, d, 2, dtype=np.float32) / np.float32(d)
        self._inv_freq = np.float32(1) / (np.float32(config.rope_theta) ** exponents)
        self._cos = self._sin = np.zeros((0, d), np.float32)      # grown by _rotary
        self._eps = np.float32(config.rms_norm_eps)
        self._scale = np.float32(d ** -0.5)

    def _rotary(self, end):
        """cos and sin of positions ``0 .. end-1``, ``[end, head_dim]`` each. The table grows
        on demand (doubling, at most ``max_position_embeddings`` rows), so a model's memory
        does not scale with ``max_position_embeddings``; a row does not depend on the table's
        length."""
        if self._cos.shape[0] < end:
            rows = min(self.config.max_position_embeddings, max(end, 2 * self._cos.shape[0], 64))
            angle = np.arange(rows, dtype=np.float32)[:, None] * self._inv_freq
            angle = np.concatenate([angle, angle], axis=-1)
            self._cos, self._sin = np.cos(angle), np.sin(angle)
        return self._cos[:end], self._sin[:end]

    @property
    def gemm(self):
        """The integer GEMM backend of every projection (see the class docstring)."""
        return self._gemm

    @gemm.setter
    def gemm(self, value):
        if not callable(value):
            raise TypeError(f"gemm must be callable, not {type(value).__name__}")
        self._gemm = value

    def projections(self):
        """``{name: (wq int8 [out, in], gamma float32)}`` in execution order."""
        return {name: (self.params[f"{name}.weight"], self.params[f"{name}.gamma"])
                for name in projection_names(self.config)}

    def new_cache(self):
        """An empty :class:`KVCache` for this model."""
        return KVCache(self.config)

    def __call__(self, token_ids):
        """Logits of a whole sequence: ``forward(token_ids)`` with a fresh cache."""
        return self.forward(token_ids)

    def _check_tokens(self, token_ids, start, name="token_ids"):
        """``token_ids`` as int64 ``[T]``, checked; ``name`` labels the messages (a batch names
        its entry, ``"prompts[1]"``, and prefixes the context message with it)."""
        ids = as_integer_array(token_ids, name)
        if ids.ndim != 1 or ids.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D array [T], got shape {ids.shape}")
        bad = (ids < 0) | (ids >= self.config.vocab_size)
        if bad.any():
            index = first_bad_index(bad)
            raise ValueError(f"{name} must lie in [0, {self.config.vocab_size}); found "
                             f"{ids[index]} at {format_index(index)}")
        limit = self.config.max_position_embeddings
        if start + ids.size > limit:
            where = "" if name == "token_ids" else f"{name}: "
            raise ValueError(f"{where}{start} cached + {ids.size} new positions exceed "
                             f"max_position_embeddings={limit}")
        return ids.astype(np.int64)

    def _linear(self, x, name):
        self.current_projection = name
        # The weights and gamma were checked at construction and are read-only.
        return checked_bitlinear(x, self.params[f"{name}.weight"],
                                 self.params[f"{name}.gamma"], self._gemm)

    def forward(self, token_ids, cache=None, *, last_only=False):
        """Run ``token_ids`` at the positions after ``cache`` and append them to it.

        Parameters
        ----------
        token_ids : array_like of integer dtype, shape [T], T >= 1
            Values in ``[0, vocab_size)``.
        cache : KVCache or None
            Past positions (from :meth:`new_cache`); advanced by ``T`` on success. ``None``
            uses a fresh cache that is then dropped.
        last_only : bool, keyword-only
            Return only the last position's logits (skips ``lm_head`` for the others).

        Returns
        -------
        numpy.ndarray of float32, shape [T, vocab_size] (or [1, vocab_size])

        Raises
        ------
        TypeError
            ``"token_ids must be an integer array, got float64"``,
            ``"cache must be a KVCache or None, not dict"``.
        ValueError
            ``"token_ids must be a non-empty 1-D array [T], got shape (2, 3)"``,
            ``"token_ids must lie in [0, 64); found 64 at [2]"``,
            ``"60 cached + 8 new positions exceed max_position_embeddings=64"``,
            ``"cache belongs to a different configuration"``.
        """
        cache = self.new_cache() if cache is None else self._check_cache(cache, "cache")
        ids = self._check_tokens(token_ids, cache.length)
        return self._forward([(ids, cache)], last_only)[0]

    def forward_batch(self, token_ids, caches, *, last_only=False):
        """:meth:`forward` for several sequences in one pass: every projection is ONE GEMM
        over the rows of all sequences stacked (sequence 0's tokens, then sequence 1's ...),
        so a hardware backend streams each weight matrix once for the whole batch.

        Each sequence keeps its own cache and positions; sequences may have different lengths
        and different cache lengths. Everything but attention works row by row (per-token
        activation quantization, exact integer GEMM, norms, rotary embedding, ``lm_head``), and
        attention runs per sequence against its own cache, so every sequence's logits are
        bit-identical to :meth:`forward` on it alone.

        Parameters
        ----------
        token_ids : sequence of array_like of integer dtype, each shape [T_i], T_i >= 1
        caches : sequence of KVCache, one distinct cache per sequence
            Each advanced by its ``T_i`` on success; a pass that raises advances none.
        last_only : bool, keyword-only

        Returns
        -------
        list of numpy.ndarray of float32, ``[T_i, vocab_size]`` (or ``[1, vocab_size]``)

        Raises
        ------
        TypeError
            ``"token_ids must be a list of token id arrays, not int"``, ``"caches must be a
            list of KVCache, not dict"``, ``"caches[1] must be a KVCache, not dict"``, and
            those of :meth:`forward` naming the entry (``"token_ids[1] must be an integer
            array, got float64"``).
        ValueError
            ``"token_ids must hold at least one sequence"``,
            ``"caches has 2 entries for 3 sequences"``,
            ``"caches[0] and caches[2] are the same cache"``,
            ``"token_ids[1]: 60 cached + 8 new positions exceed max_position_embeddings=64"``,
            and those of :meth:`forward` naming the entry.
        """
        token_ids = _check_list(token_ids, "token_ids", "a list of token id arrays")
        if not token_ids:
            raise ValueError("token_ids must hold at least one sequence")
        caches = _check_list(caches, "caches", "a list of KVCache")
        if len(caches) != len(token_ids):
            raise ValueError(f"caches has {len(caches)} entries for {len(token_ids)} sequences")
        seen = {}
        for i, cache in enumerate(caches):
            self._check_cache(cache, f"caches[{i}]")
            if id(cache) in seen:
                raise ValueError(f"caches[{seen[id(cache)]}] and caches[{i}] are the same cache")
            seen[id(cache)] = i
        segments = [(self._check_tokens(ids, cache.length, f"token_ids[{i}]"), cache)
                    for i, (ids, cache) in enumerate(zip(token_ids, caches))]
        return self._forward(segments, last_only)

    def _check_cache(self, cache, name):
        if not isinstance(cache, KVCache):
            what = "a KVCache or None" if name == "cache" else "a KVCache"
            raise TypeError(f"{name} must be {what}, not {type(cache).__name__}")
        if cache.config != self.config:
            raise ValueError(f"{name} belongs to a different configuration")
        return cache

    def _forward(self, segments, last_only):
        """The forward pass of checked ``segments`` (``[(ids int64 [T_i], cache)]``, distinct
        caches): rows stacked for every row-wise step, attention per segment. Returns the list
        of each segment's logits and advances every cache only when the whole pass succeeded."""
        c = self.config
        heads, kv, d = c.num_attention_heads, c.num_key_value_heads, c.head_dim
        starts = [cache.length for _, cache in segments]
        bounds = np.cumsum([0] + [ids.size for ids, _ in segments])
        t = int(bounds[-1])
        cos_table, sin_table = self._rotary(max(s + ids.size
                                                for s, (ids, _) in zip(starts, segments)))
        cos = np.concatenate([cos_table[s:s + ids.size] for s, (ids, _) in zip(starts, segments)])
        sin = np.concatenate([sin_table[s:s + ids.size] for s, (ids, _) in zip(starts, segments)])
        x = self.params["model.embed_tokens.weight"][np.concatenate([ids for ids, _ in segments])]
        try:
            for i in range(c.num_hidden_layers):
                p, w = f"model.layers.{i}", self.params
                n = _rms_norm(x, w[f"{p}.input_layernorm.weight"], self._eps)
                q = self._linear(n, f"{p}.self_attn.q_proj").reshape(t, heads, d)
                k = self._linear(n, f"{p}.self_attn.k_proj").reshape(t, kv, d)
                v = self._linear(n, f"{p}.self_attn.v_proj").reshape(t, kv, d)
                q = _rotate(q.transpose(1, 0, 2), cos, sin)              # [heads, T, d]
                k = _rotate(k.transpose(1, 0, 2), cos, sin)              # [kv, T, d]
                parts = []
                for (_, cache), start, lo, hi in zip(segments, starts, bounds[:-1], bounds[1:]):
                    keys, values = cache._store(i, k[:, lo:hi].transpose(0, 2, 1),
                                                v[lo:hi].transpose(1, 2, 0))
                    a = _attention(q[:, lo:hi].reshape(kv, heads // kv, hi - lo, d), keys,
                                   values, start, self._scale)
                    parts.append(a.reshape(heads, hi - lo, d))
                a = np.concatenate(parts, axis=1).transpose(1, 0, 2).reshape(t, heads * d)
                a = _rms_norm(a, w[f"{p}.self_attn.attn_sub_norm.weight"], self._eps)
                h = x + self._linear(a, f"{p}.self_attn.o_proj")
                n = _rms_norm(h, w[f"{p}.post_attention_layernorm.weight"], self._eps)
                g = np.maximum(self._linear(n, f"{p}.mlp.gate_proj"), np.float32(0))
                m = (g * g) * self._linear(n, f"{p}.mlp.up_proj")
                m = _rms_norm(m, w[f"{p}.mlp.ffn_sub_norm.weight"], self._eps)
                x = h + self._linear(m, f"{p}.mlp.down_proj")
        finally:
            self.current_projection = None
        for (ids, cache), start in zip(segments, starts):
            cache.length = start + ids.size
        if last_only:
            x, bounds = x[bounds[1:] - 1], np.arange(len(segments) + 1)
        x = _rms_norm(x, self.params["model.norm.weight"], self._eps)
        logits = np.zeros((x.shape[0], c.vocab_size), np.float32)
        term = np.empty_like(logits)
        for k_index in range(c.hidden_size):         # sequential over the hidden dimension
            np.multiply(x[:, k_index, None], self._lm_head_t[k_index], out=term)
            logits += term
        return [logits[lo:hi] for lo, hi in zip(bounds[:-1], bounds[1:])]

    def generate(self, prompt_ids, max_new_tokens, *, temperature=0.0, top_k=None, seed=None,
                 stop_at_eos=False):
        """Continue ``prompt_ids``: prefill once, then decode one token at a time with a cache.

        Parameters
        ----------
        prompt_ids : array_like of integer dtype, shape [P], P >= 1
        max_new_tokens : int
            At most this many tokens are produced; ``P + max_new_tokens`` must not exceed
            ``max_position_embeddings``.
        temperature : float, keyword-only
            0 (default) is greedy: the first index of the largest logit. Above 0, sample from
            ``softmax(logits / temperature)`` computed in float64.
        top_k : int or None, keyword-only
            Sample only among the ``top_k`` largest logits (ties go to the lower token id).
        seed : int or None, keyword-only
            Seed of ``numpy.random.default_rng``; the same seed gives the same tokens.
        stop_at_eos : bool, keyword-only
            Stop after producing a token of ``config.eos_token_id`` (it is included).

        Returns
        -------
        numpy.ndarray of int64, shape [n], n <= max_new_tokens
            The new tokens only.

        Raises
        ------
        TypeError, ValueError
            Those of :meth:`forward` for the prompt, and
            ``"max_new_tokens must be a non-negative integer, not -1"``,
            ``"temperature must be a non-negative finite number, not -1.0"``,
            ``"top_k must be an integer from 1 to 64, not 0"``,
            ``"seed must be a non-negative integer, not -3"``,
            ``"stop_at_eos needs an eos_token_id in the config"``,
            ``"5 prompt tokens + 60 new tokens exceed max_position_embeddings=64"``.
        """
        return np.fromiter(self.stream(prompt_ids, max_new_tokens, temperature=temperature,
                                       top_k=top_k, seed=seed, stop_at_eos=stop_at_eos),
                           dtype=np.int64)

    def stream(self, prompt_ids, max_new_tokens, *, temperature=0.0, top_k=None, seed=None,
               stop_at_eos=False):
        """Like :meth:`generate`, but yield each new token id (an ``int``) as it is chosen.

        The arguments are checked before the first token is computed (when this is called).
        """
        steps = self.steps(prompt_ids, max_new_tokens, temperature=temperature, top_k=top_k,
                           seed=seed, stop_at_eos=stop_at_eos)
        return (token for token, _ in steps)

    def generate_with_logits(self, prompt_ids, max_new_tokens, *, temperature=0.0, top_k=None,
                             seed=None, stop_at_eos=False, on_forward=None):
        """:meth:`generate` that also returns the logits that chose each token:
        ``(ids int64 [n], logits float32 [n, vocab_size])``. ``on_forward`` as in
        :meth:`steps`."""
        ids, rows = [], []
        for token, logits in self.steps(prompt_ids, max_new_tokens, temperature=temperature,
                                        top_k=top_k, seed=seed, stop_at_eos=stop_at_eos,
                                        on_forward=on_forward):
            ids.append(token)
            rows.append(logits)
        logits = np.stack(rows) if rows else np.zeros((0, self.config.vocab_size), np.float32)
        return np.asarray(ids, dtype=np.int64), logits

    def steps(self, prompt_ids, max_new_tokens, *, temperature=0.0, top_k=None, seed=None,
              stop_at_eos=False, on_forward=None):
        """The one generation loop: yield ``(token, logits)`` for each new token, ``logits``
        being the float32 ``[vocab_size]`` row that chose it.

        One forward pass over the whole prompt (the prefill, with a :class:`KVCache`) chooses
        new token 1; each later pass feeds the last new token and chooses the next. No pass
        runs after the last token (``max_new_tokens`` reached, or an EOS with
        ``stop_at_eos``). ``on_forward(step)``, if given, is called just before each pass:
        ``step`` 0 is the prefill, ``step`` i >= 1 feeds new token i (a hardware GEMM backend
        labels its calls with it). The other arguments and the errors are those of
        :meth:`generate`, checked when this is called, plus ``"on_forward must be callable or
        None, not int"`` (TypeError). This is :meth:`steps_batch` with a batch of one.
        """
        prompt = self._check_tokens(prompt_ids, 0)
        count, options = self._check_generation(max_new_tokens, temperature, top_k,
                                                stop_at_eos, on_forward)
        rng = np.random.default_rng(None if seed is None else check_count(seed, "seed"))
        self._check_room(prompt.size, count, "")
        return self._steps(prompt, count, rng, options)

    def _steps(self, prompt, count, rng, options):
        for step in self._batch_steps([prompt], count, [rng], *options):
            (_, token, logits), = step
            yield token, logits

    def generate_batch(self, prompts, max_new_tokens, *, temperature=0.0, top_k=None,
                       seed=None, stop_at_eos=False):
        """:meth:`generate` for a batch of prompts decoded together (see :meth:`steps_batch`):
        a list of int64 arrays, the new tokens of each prompt in order, each equal to
        :meth:`generate` of that prompt alone."""
        return [ids for ids, _ in self.generate_batch_with_logits(
            prompts, max_new_tokens, temperature=temperature, top_k=top_k, seed=seed,
            stop_at_eos=stop_at_eos)]

    def generate_batch_with_logits(self, prompts, max_new_tokens, *, temperature=0.0,
                                   top_k=None, seed=None, stop_at_eos=False, on_forward=None):
        """:meth:`generate_with_logits` for a batch of prompts decoded together: a list with
        one ``(ids int64 [n_i], logits float32 [n_i, vocab_size])`` per prompt, in order, each
        bit-identical to :meth:`generate_with_logits` of that prompt alone (with its seed).
        Arguments and errors as :meth:`steps_batch`."""
        steps = self.steps_batch(prompts, max_new_tokens, temperature=temperature, top_k=top_k,
                                 seed=seed, stop_at_eos=stop_at_eos, on_forward=on_forward)
        tokens = [[] for _ in range(len(prompts))]
        rows = [[] for _ in range(len(prompts))]
        for step in steps:
            for index, token, logits in step:
                tokens[index].append(token)
                rows[index].append(logits)
        vocab = self.config.vocab_size
        return [(np.asarray(ids, dtype=np.int64),
                 np.stack(chosen) if chosen else np.zeros((0, vocab), np.float32))
                for ids, chosen in zip(tokens, rows)]

    def steps_batch(self, prompts, max_new_tokens, *, temperature=0.0, top_k=None, seed=None,
                    stop_at_eos=False, on_forward=None):
        """Batched decode: the generation loop of :meth:`steps` for several prompts at once.

        Each sequence has its own :class:`KVCache` and positions; prompts may have different
        lengths. The prefill is ONE :meth:`forward_batch` pass over all prompts stacked (every
        projection is one GEMM with ``M = sum of the prompt lengths``); each decode pass feeds
        the last token of every live sequence, so every projection of a decode step is ONE
        GEMM with ``M = number of live sequences``: a hardware backend streams each weight
        matrix once per step for the whole batch. A sequence leaves the batch after its last
        token (``max_new_tokens`` reached, or an EOS with ``stop_at_eos``); the loop ends when
        none is left. Activations are quantized per token (row) and the integer GEMM is exact,
        so stacking rows changes nothing: every sequence's tokens and logits are bit-identical
        to :meth:`steps` on its prompt alone.

        Yields, once per pass, a list of ``(index, token, logits)`` for the sequences that
        chose a token in it (index into ``prompts``, ascending; ``logits`` float32
        ``[vocab_size]``). ``on_forward(step)`` is called before each pass as in
        :meth:`steps` (0: the prefill; i: the pass that feeds new token i of the live
        sequences).

        Parameters
        ----------
        prompts : sequence of array_like of integer dtype, each shape [P_i], P_i >= 1
        max_new_tokens : int
            The same for every prompt; ``P_i + max_new_tokens`` must not exceed
            ``max_position_embeddings`` for every prompt.
        seed : None, int, or a sequence of one int per prompt, keyword-only
            Every sequence samples from its own ``numpy.random.default_rng``: an int seeds
            each of them with that int (so sequence i equals :meth:`generate` of prompt i
            with that seed), a sequence gives each prompt its own seed.
        temperature, top_k, stop_at_eos, on_forward
            As :meth:`steps`.

        Raises
        ------
        TypeError, ValueError
            All checked when this is called, before any computation: those of :meth:`steps`,
            the prompt errors naming the entry (``"prompts[1] must lie in [0, 64); found 64
            at [0]"``), and ``"prompts must be a list of token id arrays, not int"``,
            ``"seed must be None, an integer or a list of one integer per prompt, not str"``
            (TypeError); ``"prompts must hold at least one prompt"``,
            ``"prompts[1]: 9 prompt tokens + 32 new tokens exceed max_position_embeddings=40"``,
            ``"seed has 2 entries for 3 prompts"``, ``"seed[1] must be a non-negative
            integer, not -1"`` (ValueError).
        """
        prompts = _check_list(prompts, "prompts", "a list of token id arrays")
        if not prompts:
            raise ValueError("prompts must hold at least one prompt")
        checked = [self._check_tokens(prompt, 0, f"prompts[{i}]")
                   for i, prompt in enumerate(prompts)]
        count, options = self._check_generation(max_new_tokens, temperature, top_k,
                                                stop_at_eos, on_forward)
        if seed is None or isinstance(seed, numbers.Integral):
            seeds = [None if seed is None else check_count(seed, "seed")] * len(checked)
        elif isinstance(seed, (list, tuple, np.ndarray)):
            if len(seed) != len(checked):
                raise ValueError(f"seed has {len(seed)} entries for {len(checked)} prompts")
            seeds = [check_count(value, f"seed[{i}]") for i, value in enumerate(seed)]
        else:
            raise TypeError(f"seed must be None, an integer or a list of one integer per "
                            f"prompt, not {type(seed).__name__}")
        for i, prompt in enumerate(checked):
            self._check_room(prompt.size, count, f"prompts[{i}]: ")
        rngs = [np.random.default_rng(value) for value in seeds]
        return self._batch_steps(checked, count, rngs, *options)

    def _check_generation(self, max_new_tokens, temperature, top_k, stop_at_eos, on_forward):
        """The checked ``max_new_tokens`` and the options ``(temperature, top_k, stops,
        on_forward)`` of the loop (see :meth:`steps`)."""
        count = check_count(max_new_tokens, "max_new_tokens")
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
            raise TypeError(f"temperature must be a number, not {type(temperature).__name__}")
        if not 0 <= temperature < float("inf"):
            raise ValueError(f"temperature must be a non-negative finite number, "
                             f"not {float(temperature)}")
        vocab = self.config.vocab_size
        if top_k is not None:
            if isinstance(top_k, bool) or not isinstance(top_k, numbers.Integral):
                raise TypeError(f"top_k must be an integer or None, not {type(top_k).__name__}")
            if not 1 <= top_k <= vocab:
                raise ValueError(f"top_k must be an integer from 1 to {vocab}, not {top_k}")
        stops = self.config.eos_token_ids if stop_at_eos else ()
        if stop_at_eos and not stops:
            raise ValueError("stop_at_eos needs an eos_token_id in the config")
        if on_forward is not None and not callable(on_forward):
            raise TypeError(f"on_forward must be callable or None, "
                            f"not {type(on_forward).__name__}")
        return count, (float(temperature), top_k, stops, on_forward or (lambda step: None))

    def _check_room(self, prompt_tokens, count, where):
        limit = self.config.max_position_embeddings
        if prompt_tokens + count > limit:
            raise ValueError(f"{where}{prompt_tokens} prompt tokens + {count} new tokens exceed "
                             f"max_position_embeddings={limit}")

    def _batch_steps(self, prompts, count, rngs, temperature, top_k, stops, on_forward):
        """The loop of :meth:`steps_batch` on checked arguments (``rngs``: one per prompt)."""
        if count == 0:
            return
        caches = [self.new_cache() for _ in prompts]
        live = list(range(len(prompts)))
        on_forward(0)
        logits = self._forward([(prompt, cache) for prompt, cache in zip(prompts, caches)],
                               last_only=True)
        for produced in range(1, count + 1):
            step, fed = [], []
            for index, rows in zip(live, logits):
                token = _pick(rows[0], temperature, top_k, rngs[index])
                step.append((index, token, rows[0]))
                if token not in stops and produced < count:
                    fed.append((index, token))
            yield step
            if not fed:
                return
            on_forward(produced)
            live = [index for index, _ in fed]
            logits = self._forward([(np.array([token], dtype=np.int64), caches[index])
                                    for index, token in fed], last_only=True)


def _check_list(value, name, what):
    """``value`` as a list when it is a list, tuple or array (its entries along the first
    axis); otherwise the TypeError ``"<name> must be <what>, not <type>"``."""
    if not isinstance(value, (list, tuple, np.ndarray)):
        raise TypeError(f"{name} must be {what}, not {type(value).__name__}")
    return list(value)


def _pick(logits, temperature, top_k, rng):
    """Next token from float32 ``logits`` ``[vocab]``: greedy argmax or seeded sampling."""
    if temperature == 0:
        return int(np.argmax(logits))
    with np.errstate(over="ignore"):
        z = logits.astype(np.float64) / temperature
    order = np.argsort(-logits, kind="stable")[:top_k]    # largest first; ties to the lower id
    if not np.isfinite(z[order[0]]):    # logits / temperature overflows: the limit is greedy
        return int(order[0])
    weights = np.cumsum(np.exp(z[order] - z[order[0]]))
    index = int(np.searchsorted(weights, rng.random() * weights[-1], side="right"))
    return int(order[min(index, order.size - 1)])
