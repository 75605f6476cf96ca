"""The work of a token: a BitNet b1.58 model's BitLinear GEMMs, and their cycles on an array
from the exact cycle model (:meth:`rtl.config.AccelConfig.cycles`; no simulation).

A model is a HuggingFace ``config.json`` (:func:`read_model` takes the file or a checkpoint
folder holding it), read by :class:`golden.config.BitNetConfig`; the shapes come from
:func:`golden.config.param_shapes` (:func:`layer_projections`: seven projections a layer, N x
K as ``[out, in]``). A forward pass over ``M`` token positions runs each projection of each
layer as one GEMM with that ``M`` (:func:`pass_jobs`), split into jobs of at most the
array's ``max_m`` rows as the driver splits them (:func:`cosim.report.model_cycles`):

* **decode**, batch ``B``: one step feeds the last token of ``B`` sequences, ``M = B``; it
  yields ``B`` tokens;
* **prefill** of a prompt of ``P`` tokens: ``M = P``; it yields ``P`` token positions.

Cycles per token are the pass's cycles over its ``M``. Jobs run one after another, sources
always valid and sinks always ready (the model's own assumptions); the memory system's part
is :mod:`gen.explore.memory`. Only the BitLinear GEMMs are counted: the ``lm_head``, the
attention over the KV cache, the norms and sampling are host work (:func:`traffic_bytes`
gives the bytes the head and the cache add).

The decode projection of ``benchmarks/decode_projection.py`` (:class:`Memory`,
:func:`decode_token`, several engines splitting N) is built from the same pieces and lives
here too.
"""

import dataclasses
import json
import math
import pathlib

from golden.config import BitNetConfig, param_shapes, projection_names
from rtl.config import AccelConfig


__all__ = ["Memory", "BF16_BYTES", "Job", "read_model", "layer_projections", "fused",
           "traffic_bytes", "engine_widths", "engine_columns", "job_cycles", "decode_token",
           "pass_jobs"]

#: Bytes of a bf16 value (the checkpoint's ``torch_dtype``: its embedding, tied to the head).
BF16_BYTES = 2


@dataclasses.dataclass(frozen=True)
class Memory:
    """A memory system as the accelerator sees it: ``bits`` per cycle at ``mhz``, and the
    accelerators put on it: ``(engines, rows, cols)``, each engine's port ``bits / engines``."""

    label: str
    port: str
    bits: int
    mhz: float
    why: str
    setups: tuple

    @property
    def bytes_per_s(self):
        return self.bits / 8 * self.mhz * 1e6


@dataclasses.dataclass(frozen=True)
class Job:
    """One GEMM job on the array: ``projection`` (its name), ``m`` activation rows, ``k`` x
    ``n`` weights, run ``count`` times per pass (once per layer)."""

    projection: str
    m: int
    k: int
    n: int
    count: int


# -- the model -----------------------------------------------------------------------------

def read_model(path):
    """The :class:`~golden.config.BitNetConfig` of a ``config.json`` file, or of the
    ``config.json`` in a checkpoint folder.

    Raises ``ValueError`` with one line naming the path: the file is missing or not JSON, or
    the config misses a field or has a wrong one (:meth:`BitNetConfig.from_dict`'s message).
    """
    path = pathlib.Path(path)
    file = path / "config.json" if path.is_dir() else path
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        where = f"folder {str(path)!r} has no config.json" if path.is_dir() \
            else f"{str(path)!r} does not exist"
        raise ValueError(f"model {where}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read model config {str(file)!r}: "
                         f"{getattr(error, 'strerror', None) or error}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"model config {str(file)!r} is not JSON: {error}") from None
    try:
        return BitNetConfig.from_dict(data)
    except (TypeError, ValueError) as error:
        raise ValueError(f"model config {str(file)!r}: {error}") from None


def layer_projections(config):
    """``[(name, K, N)]`` of one layer's BitLinear projections in execution order, from
    :func:`golden.config.param_shapes` (``[out, in]`` = ``[N, K]``)."""
    shapes = param_shapes(config)
    prefix = "model.layers.0."
    return [(name.rsplit(".", 1)[1], shapes[f"{name}.weight"][0][1],
             shapes[f"{name}.weight"][0][0])
            for name in projection_names(config) if name.startswith(prefix)]


def fused(projections):
    """The same layer with q, k, v as one job and gate, up as one (N concatenated); the
    others unchanged."""
    groups = {"q_proj": "qkv", "k_proj": "qkv", "v_proj": "qkv", "gate_proj": "gate_up",
              "up_proj": "gate_up"}
    jobs = {}
    for name, k, n in projections:
        key = groups.get(name, name)
        if key in jobs:
            assert jobs[key][0] == k, f"{name} does not share its input with {key}"
            jobs[key] = (k, jobs[key][1] + n)
        else:
            jobs[key] = (k, n)
    return [(name, k, n) for name, (k, n) in jobs.items()]


def traffic_bytes(config, *, context=0, head_bytes=BF16_BYTES):
    """``(head, kv)`` bytes per decode token beyond the BitLinear weights: the ``lm_head``
    (``vocab x hidden`` of ``head_bytes`` each) and the bf16 KV cache read over ``context``
    positions (K and V of every layer and KV head)."""
    head = config.vocab_size * config.hidden_size * head_bytes
    per_position = (2 * config.num_hidden_layers * config.num_key_value_heads
                    * config.head_dim * BF16_BYTES)
    return head, per_position * context


# -- one or several engines on a memory port (the decode projection) -----------------------

def engine_widths(memory, engines):
    """Each engine's port ``W``: the memory's bits shared evenly (refused otherwise)."""
    if memory.bits % engines:
        raise ValueError(f"{memory.bits} bits do not split evenly over {engines} engines")
    return memory.bits // engines


def engine_columns(n, cols, engines):
    """Output columns of each engine of a job with ``N = n``: contiguous shares of the
    ``ceil(n / cols)`` tile columns, as even as whole tiles allow (the last share ends at
    ``n``); engines left without a tile are left out."""
    tiles = math.ceil(n / cols)
    shares, begin = [], 0
    for e in range(engines):
        end = begin + tiles // engines + (e < tiles % engines)
        if end > begin:
            shares.append(min(end * cols, n) - begin * cols)
        begin = end
    return shares


def job_cycles(accel, m, k, n, engines=1):
    """Cycles of one job on ``engines`` copies of ``accel`` splitting N: the slowest one."""
    return max(accel.cycles(m, k, share) for share in engine_columns(n, accel.cols, engines))


def decode_token(memory, engines, rows, cols, fmt, projections, layers):
    """The decode token at M = 1 (``benchmarks/decode_projection.py``): a dict with ``accel``
    (one engine's configuration), ``cycles`` per token, ``weights`` (BitLinear weights per
    token), ``ideal_bits``, ``utilization``, ``tokens_per_s`` (array time only), ``roofline``
    (ideal bits / memory bits per cycle) and ``fixed`` (every job's ``1 + rows + 5``)."""
    accel = AccelConfig(rows=rows, cols=cols, weight_format=fmt,
                        weight_port_bits=engine_widths(memory, engines))
    cycles = layers * sum(job_cycles(accel, 1, k, n, engines) for _, k, n in projections)
    weights = layers * sum(k * n for _, k, n in projections)
    ideal = weights * accel.format.bits_per_weight
    return {"accel": accel, "cycles": cycles, "weights": weights, "ideal_bits": ideal,
            "utilization": ideal / (cycles * memory.bits),
            "tokens_per_s": memory.mhz * 1e6 / cycles, "roofline": ideal / memory.bits,
            "fixed": layers * len(projections) * (1 + accel.latency)}


# -- a forward pass on one array -----------------------------------------------------------

def pass_jobs(model, accel, m):
    """The jobs of one forward pass over ``m`` token positions on ``accel``: every projection
    of every layer one GEMM with ``M = m``, split into jobs of at most ``accel.max_m`` rows
    (the last one shorter) as the driver splits them. A list of :class:`Job`, each with
    ``count`` = the model's layers; the cycles of the pass are
    ``sum(job.count * accel.cycles(job.m, job.k, job.n))``, which equals
    :func:`cosim.report.model_cycles` summed over the projections and layers.

    Raises ``TypeError`` / ``ValueError`` for an ``m`` that is not a positive integer, and
    the configuration's :class:`~rtl.config.ConfigError` for a K or N beyond its
    ``max_k`` / ``max_n``.
    """
    if not isinstance(model, BitNetConfig):
        raise TypeError(f"model must be a BitNetConfig, not {model!r}")
    if not isinstance(accel, AccelConfig):
        raise TypeError(f"accel must be an AccelConfig, not {accel!r}")
    if isinstance(m, bool) or not isinstance(m, int):
        raise TypeError(f"m must be a positive integer, not {m!r}")
    if m < 1:
        raise ValueError(f"m must be a positive integer, not {m}")
    layers = model.num_hidden_layers
    jobs = []
    for name, k, n in layer_projections(model):
        for start in range(0, m, accel.max_m):
            jobs.append(Job(name, min(accel.max_m, m - start), k, n, layers))
    return jobs
