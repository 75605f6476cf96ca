"""Activity counts of the accelerator: what one job, or one decoded token, makes the design do,
from the design's widths and its exact cycle model (:meth:`rtl.config.AccelConfig.cycles`).

:func:`gemm_activity` counts one job ``Y[M, N] = X[M, K] @ W[N, K].T`` as the hardware runs
it (``docs/interface.md``): ``T = ceil(K/R) * ceil(N/C)`` tiles of ``R x C`` weights, every
tile's ``M`` activation rows through every PE, partial tiles padded with zero weights and zero
activations. ``tests/test_activity_simulation.py`` counts the same quantities on the design's
signals in Amaranth's simulator and finds them equal.

What is counted, per job (``R`` rows, ``C`` columns, ``M`` activation rows, ``Kt``/``Nt``
K and N tiles, ``nnz`` the nonzero weights of ``W``, ``cycles`` the cycle model's count from
the first input beat to the last result beat):

* ``nonzero_adds = M * nnz``: PE additions a nonzero weight triggers on a valid activation
  row; ``zero_skips = M * T * R * C - nonzero_adds``: PE slots whose weight is zero (padding
  included), where the ternary PE adds nothing.
* ``accumulator_adds = M * (Kt - 1) * Nt * C``: sums of a later K tile into the stored one.
* ``register_bits = cycles * (datapath register bits)``: the datapath has no clock enable, so
  every data register is written every cycle: the two input registers and the row skew of the
  activations, every PE's partial-sum register, the weight store's decoded-beat register and
  the accumulator's registers (:func:`register_bits_per_cycle`: the design's reset-less
  registers; the control registers, with a reset, 1,276 bits at 64x64, are not counted).
* weight SRAM: every tile row is written into its bank once and read once:
  ``T * R * C * b`` bits each way, ``b`` the bits of a decoded weight (2 ternary, 8 int8).
* accumulator: the read port has no enable, so it reads a ``C * acc_bits`` word every cycle
  (``cycles`` reads); it writes the sums of every K tile but the last.
* result queue: every result row written once and read once (``M * Nt`` rows of
  ``C * acc_bits``).
* DRAM (or whatever memory feeds the streams): the weight beats, ``weight_beats * W`` bits
  (the format's packing and the padding of tiles and of the last beat included); the
  activation stream, ``T * M * R * act_bits`` (every N tile streams the activations again, as
  the interface takes them); the result stream, ``Nt * M * beats_per_row * lanes * acc_bits``.

``pe`` selects what the counts are of: the design's own PE (``None``), or, on the same
weight port, the int8 multiply-accumulate PE (``"int8"``, the design's baseline,
``AccelConfig(pe="int8")``) or an FP16 reference (``"fp16"``: the int8 design's structure
with every operand, partial sum, stored sum and result 16 bits, weights 16 bits in memory).
The port must carry a whole number of rows of those weights per beat.
"""

from dataclasses import dataclass, replace
import math
import numbers

import numpy as np

from golden.config import BitNetConfig, param_shapes, projection_names
from rtl.config import AccelConfig, ConfigError, psum_width
from rtl.pipeline import input_delay


__all__ = ["Activity", "Memories", "PES", "GAUSSIAN_NONZERO_FRACTION", "gemm_activity",
           "register_bits_per_cycle", "token_activity", "decode_jobs", "kv_cache_bits",
           "head_bits", "decode_activity", "weights_nonzero_fraction"]

#: What the arithmetic can be: the ternary PE, the int8 multiply-accumulate PE, an FP16
#: multiply-add reference.
PES = ("ternary", "int8", "fp16")

#: Bits of an FP16 value (the reference's operands, sums and results).
FP16_BITS = 16

#: Nonzero weights of absmean ternarization (``golden.quantize_weights``) of Gaussian
#: weights: ``w`` is zero when ``|w| < gamma / 2`` with ``gamma = mean|w| = sigma *
#: sqrt(2 / pi)``, that is ``|w| / sigma < 1 / sqrt(2 pi)``, probability
#: ``erf(1 / (2 sqrt(pi)))`` = 0.3101 (``docs/energy.md``).
GAUSSIAN_NONZERO_FRACTION = 1 - math.erf(1 / (2 * math.sqrt(math.pi)))


@dataclass(frozen=True)
class Memories:
    """Capacities of the on-chip memories, in bits (the energy of an access grows with them):
    one bank of the weight store (``wmem_tiles * C * b``; there are ``R``), the accumulator
    (``max_m * C * acc_bits``) and the result queue (``depth * C * acc_bits``)."""

    weight_bank: int
    accumulator: int
    result_queue: int


_COUNTS = ("cycles", "nonzero_adds", "zero_skips", "accumulator_adds", "register_bits",
           "weight_sram_read_bits", "weight_sram_write_bits", "accumulator_read_bits",
           "accumulator_write_bits", "result_queue_write_bits", "result_queue_read_bits",
           "dram_weight_bits", "dram_activation_bits", "dram_result_bits", "dram_kv_bits",
           "dram_head_bits")


@dataclass(frozen=True, kw_only=True)
class Activity:
    """Counts of what the hardware does (module docstring), for one PE kind and one design.

    ``a + b`` adds the counts of two activities of the same ``pe`` and ``memories`` (jobs run
    one after another); ``a * n`` (or ``n * a``) repeats one ``n`` times. Every count is a
    non-negative integer.

    Members
    -------
    pe : str
        ``"ternary"``, ``"int8"`` or ``"fp16"``: how :func:`gen.explore.energy.energy` prices
        the arithmetic.
    memories : Memories
        The on-chip memories' capacities.
    cycles : int
        Clock cycles (the cycle model, jobs back to back; gaps between jobs not counted).
    nonzero_adds, zero_skips, accumulator_adds : int
        Arithmetic (module docstring).
    register_bits : int
        Datapath register bits written.
    weight_sram_read_bits, weight_sram_write_bits, accumulator_read_bits,
    accumulator_write_bits, result_queue_write_bits, result_queue_read_bits : int
        On-chip memory bits accessed.
    dram_weight_bits, dram_activation_bits, dram_result_bits, dram_kv_bits,
    dram_head_bits : int
        Bits moved to or from the memory behind the streams: the three streams; the KV cache
        and the output head (:func:`decode_activity`; the host's traffic, not the array's).
    """

    pe: str
    memories: Memories
    cycles: int = 0
    nonzero_adds: int = 0
    zero_skips: int = 0
    accumulator_adds: int = 0
    register_bits: int = 0
    weight_sram_read_bits: int = 0
    weight_sram_write_bits: int = 0
    accumulator_read_bits: int = 0
    accumulator_write_bits: int = 0
    result_queue_write_bits: int = 0
    result_queue_read_bits: int = 0
    dram_weight_bits: int = 0
    dram_activation_bits: int = 0
    dram_result_bits: int = 0
    dram_kv_bits: int = 0
    dram_head_bits: int = 0

    def __post_init__(self):
        _check_pe(self.pe)
        if not isinstance(self.memories, Memories):
            raise TypeError(f"memories must be a Memories, not {type(self.memories).__name__}")
        for name in _COUNTS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral):
                raise TypeError(f"{name} must be a non-negative integer, not {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be a non-negative integer, not {value}")
            object.__setattr__(self, name, int(value))

    def counts(self):
        """Every count by name, in field order."""
        return {name: getattr(self, name) for name in _COUNTS}

    @property
    def macs(self):
        """PE slots on valid activation rows: ``nonzero_adds + zero_skips``."""
        return self.nonzero_adds + self.zero_skips

    def __add__(self, other):
        if not isinstance(other, Activity):
            return NotImplemented
        if (other.pe, other.memories) != (self.pe, self.memories):
            raise ValueError(f"cannot add the activity of {other.pe} PEs with memories "
                             f"{other.memories} to that of {self.pe} PEs with {self.memories}")
        return replace(self, **{name: getattr(self, name) + getattr(other, name)
                                for name in _COUNTS})

    def __mul__(self, times):
        if isinstance(times, bool) or not isinstance(times, numbers.Integral):
            return NotImplemented
        if times < 0:
            raise ValueError(f"an activity can be repeated a non-negative number of times, "
                             f"not {times}")
        return replace(self, **{name: getattr(self, name) * int(times) for name in _COUNTS})

    __rmul__ = __mul__


def _check_pe(pe):
    known = ", ".join(repr(name) for name in PES[:-1]) + f" or {PES[-1]!r}"
    if not isinstance(pe, str):
        raise TypeError(f"pe must be {known}, not {pe!r}")
    if pe not in PES:
        raise ValueError(f"pe must be {known}, not {pe!r}")
    return pe


def _check_accel(accel):
    if not isinstance(accel, AccelConfig):
        raise TypeError(f"accel must be an AccelConfig, not {type(accel).__name__}")
    return accel


@dataclass(frozen=True)
class _Design:
    """What the counts depend on: the PE kind, the configuration whose cycle model schedules
    the jobs, the weight port's width, the bits of a weight on chip, of an activation and of
    a stored sum, and the partial-sum width of every array row."""

    pe: str
    schedule: AccelConfig
    port_bits: int
    weight_bits: int
    act_bits: int
    acc_bits: int
    psum_bits: tuple


def _design(accel, pe):
    """The design ``accel`` counted with ``pe`` (None: its own PE)."""
    pe = accel.pe if pe is None else _check_pe(pe)
    if pe == accel.pe:
        return _Design(pe, accel, accel.word_bits, accel.weight_bits, accel.act_bits,
                       accel.acc_bits, tuple(accel.psum_bits(row) for row in range(accel.rows)))
    if pe == "ternary":
        raise ValueError("pe='ternary' needs a ternary accel: an int8-PE design has no ternary "
                         "counterpart")
    weight_bits = FP16_BITS if pe == "fp16" else 8
    row_bits = weight_bits * accel.cols
    width = accel.word_bits
    if width % row_bits:
        raise ValueError(f"pe={pe!r} needs a weight port of a whole number of rows of "
                         f"{accel.cols} {weight_bits}-bit weights (a multiple of {row_bits} "
                         f"bits), not {width}")
    # The int8 design with as many rows per beat schedules the jobs of both references.
    per_beat = width // row_bits
    acc_bits = max(accel.acc_bits, psum_width(max(accel.max_k, accel.rows), accel.act_bits, 8))
    try:
        schedule = replace(accel, pe="int8", weight_format=None, weight_port_bits=8 * accel.cols
                           * per_beat, acc_bits=acc_bits)
    except ConfigError as error:
        raise ValueError(f"pe={pe!r}: {error}") from None
    if pe == "int8":
        return _Design(pe, schedule, width, 8, accel.act_bits, acc_bits,
                       tuple(schedule.psum_bits(row) for row in range(accel.rows)))
    return _Design(pe, schedule, width, FP16_BITS, FP16_BITS, FP16_BITS, (FP16_BITS,) * accel.rows)


def _memories(design):
    cfg = design.schedule
    return Memories(weight_bank=cfg.weight_store_tiles * cfg.cols * design.weight_bits,
                    accumulator=cfg.max_m * cfg.cols * design.acc_bits,
                    result_queue=cfg.result_queue_depth * cfg.cols * design.acc_bits)


def _register_bits(design):
    cfg = design.schedule
    rows, cols = cfg.rows, cfg.cols
    inputs = input_delay(cfg) * rows * design.act_bits
    skew = design.act_bits * rows * (rows - 1) // 2
    psums = cols * sum(design.psum_bits)
    beat = cfg.rows_per_beat * cols * design.weight_bits
    sums = (4 if cfg.accumulator_forwarding else 2) * cols * design.acc_bits
    # the result serializer's copy of a row's later beats (rtl/result_serializer.py)
    serializer = ((cfg.result_beats_per_row - 1) * cfg.result_beat_lanes * design.acc_bits
                  if cfg.result_beats_per_row > 1 else 0)
    return inputs + skew + psums + beat + sums + serializer


def register_bits_per_cycle(accel, *, pe=None):
    """Datapath register bits written every cycle: the activations' input registers
    (``2 * R * act_bits``) and row skew (``act_bits * R * (R - 1) / 2``), the PEs' partial
    sums (``C * sum(psum_bits(r))``), the weight store's decoded beat (``k * C * b``), the
    accumulator's read and sum registers (``2 * C * acc_bits``, twice that with forwarding),
    and with several result beats per row the serializer's copy of a row's later beats
    (``(B - 1) * lanes * acc_bits``; written only while results leave, so counting it every
    cycle is an upper bound).

    Raises ``TypeError`` / ``ValueError`` for ``accel`` and ``pe`` as :func:`gemm_activity`.
    """
    return _register_bits(_design(_check_accel(accel), pe))


def _nonzero(m, k, n, nonzero_fraction, nonzero_weights):
    """Nonzero weights of the ``N x K`` matrix."""
    if nonzero_fraction is not None and nonzero_weights is not None:
        raise ValueError("give nonzero_fraction or nonzero_weights, not both")
    if nonzero_weights is not None:
        if isinstance(nonzero_weights, numbers.Integral) and not isinstance(nonzero_weights,
                                                                            bool):
            if not 0 <= nonzero_weights <= k * n:
                raise ValueError(f"nonzero_weights must be a count from 0 to K * N = {k * n}, "
                                 f"not {nonzero_weights}")
            return int(nonzero_weights)
        if isinstance(nonzero_weights, np.ndarray):
            if nonzero_weights.shape != (n, k):
                raise ValueError(f"nonzero_weights must be the weights W[N, K] of shape "
                                 f"{(n, k)}, not {nonzero_weights.shape}")
            return int(np.count_nonzero(nonzero_weights))
        raise TypeError(f"nonzero_weights must be a count or the weights W[N, K] as a NumPy "
                        f"array, not {type(nonzero_weights).__name__}")
    fraction = GAUSSIAN_NONZERO_FRACTION if nonzero_fraction is None else nonzero_fraction
    _check_fraction(fraction)
    return round(fraction * k * n)


def _check_fraction(fraction):
    if isinstance(fraction, bool) or not isinstance(fraction, numbers.Real):
        raise TypeError(f"nonzero_fraction must be a number from 0 to 1, not {fraction!r}")
    if not 0 <= fraction <= 1:
        raise ValueError(f"nonzero_fraction must be a number from 0 to 1, not {fraction}")


def _gemm(design, m, k, n, nnz):
    cfg = design.schedule
    rows, cols = cfg.rows, cfg.cols
    k_tiles, n_tiles = math.ceil(k / rows), math.ceil(n / cols)
    tiles = k_tiles * n_tiles
    cycles = cfg.cycles(m, k, n)
    tile_bits = tiles * rows * cols * design.weight_bits
    sum_bits = cols * design.acc_bits
    results = m * n_tiles
    return Activity(
        pe=design.pe, memories=_memories(design), cycles=cycles,
        nonzero_adds=m * nnz, zero_skips=m * tiles * rows * cols - m * nnz,
        accumulator_adds=m * (k_tiles - 1) * n_tiles * cols,
        register_bits=cycles * _register_bits(design),
        weight_sram_read_bits=tile_bits, weight_sram_write_bits=tile_bits,
        accumulator_read_bits=cycles * sum_bits,
        accumulator_write_bits=m * (k_tiles - 1) * n_tiles * sum_bits,
        result_queue_write_bits=results * sum_bits, result_queue_read_bits=results * sum_bits,
        dram_weight_bits=cfg.weight_beats(k, n) * design.port_bits,
        dram_activation_bits=tiles * m * rows * design.act_bits,
        dram_result_bits=results * cfg.result_beats_per_row * cfg.result_beat_lanes
        * design.acc_bits)


def gemm_activity(accel, m, k, n, *, pe=None, nonzero_fraction=None, nonzero_weights=None):
    """The :class:`Activity` of one job ``(M, K, N)`` on ``accel`` (module docstring).

    Parameters
    ----------
    accel : AccelConfig
    m, k, n : int
        The job, within ``accel``'s limits (its messages: ``"M must be an integer from 1 to
        256, not 0"``).
    pe : str or None, keyword only
        None (``accel.pe``), ``"int8"`` or ``"fp16"`` (the references on the same weight
        port), or ``"ternary"`` for a ternary ``accel``.
    nonzero_fraction : float or None, keyword only
        The share of nonzero weights, 0 to 1 (``round(fraction * K * N)`` of them); by
        default :data:`GAUSSIAN_NONZERO_FRACTION`.
    nonzero_weights : int or numpy.ndarray or None, keyword only
        The nonzero weights of ``W``: a count, or ``W[N, K]`` itself (its nonzeros are
        counted). Not with ``nonzero_fraction``.

    Raises
    ------
    TypeError
        ``"accel must be an AccelConfig, not dict"``, ``"pe must be 'ternary', 'int8' or
        'fp16', not 3"``, ``"nonzero_fraction must be a number from 0 to 1, not '1'"``,
        ``"nonzero_weights must be a count or the weights W[N, K] as a NumPy array, not
        list"``, and the job sizes' ``ConfigTypeError``.
    ValueError
        The job sizes' ``ConfigError``; ``"pe must be ..., not 'fp32'"``; ``"pe='ternary'
        needs a ternary accel: ..."``; ``"pe='fp16' needs a weight port of a whole number of
        rows of 64 16-bit weights (a multiple of 1024 bits), not 512"``;
        ``"nonzero_fraction must be a number from 0 to 1, not 1.5"``; ``"nonzero_weights must
        be a count from 0 to K * N = 6, not 7"``; ``"nonzero_weights must be the weights
        W[N, K] of shape (3, 2), not (2, 3)"``; ``"give nonzero_fraction or
        nonzero_weights, not both"``.
    """
    design = _design(_check_accel(accel), pe)
    accel.check_job(m, k, n)
    return _gemm(design, m, k, n, _nonzero(m, k, n, nonzero_fraction, nonzero_weights))


def token_activity(accel, jobs, *, pe=None, nonzero_fraction=None):
    """The sum of :func:`gemm_activity` over ``jobs``, an iterable of ``(m, k, n)`` run one
    after another, with the same ``pe`` and ``nonzero_fraction``.

    Raises as :func:`gemm_activity`, and ``TypeError("jobs must be an iterable of (m, k, n),
    not int")`` / ``ValueError("jobs must not be empty")`` / ``ValueError("job 2 must be
    (m, k, n), not (1, 2)")``.
    """
    design = _design(_check_accel(accel), pe)
    if nonzero_fraction is not None:
        _check_fraction(nonzero_fraction)
    try:
        jobs = list(jobs)
    except TypeError:
        raise TypeError(f"jobs must be an iterable of (m, k, n), not "
                        f"{type(jobs).__name__}") from None
    if not jobs:
        raise ValueError("jobs must not be empty")
    repeats = {}        # a model repeats its layers' shapes: each shape is counted once
    for index, job in enumerate(jobs):
        if not isinstance(job, (tuple, list)) or len(job) != 3:
            raise ValueError(f"job {index} must be (m, k, n), not {job!r}")
        accel.check_job(*job)
        repeats[tuple(job)] = repeats.get(tuple(job), 0) + 1
    total = None
    for (m, k, n), times in repeats.items():
        one = _gemm(design, m, k, n, _nonzero(m, k, n, nonzero_fraction, None)) * times
        total = one if total is None else total + one
    return total


def _check_model(model):
    if not isinstance(model, BitNetConfig):
        raise TypeError(f"model must be a BitNetConfig, not {type(model).__name__}")
    return model


def _check_count(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer of at least {low}, not {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer of at least {low}, not {value}")
    return int(value)


def decode_jobs(model, *, batch=1):
    """The BitLinear jobs of one decode step of ``batch`` sequences: every projection of every
    layer one job ``(batch, K, N)``, in execution order, shapes from
    :func:`golden.config.param_shapes` (``[N, K]``), as :class:`golden.BitNetModel` calls them
    (q, k, v separate)."""
    _check_model(model)
    batch = _check_count("batch", batch, 1)
    shapes = param_shapes(model)
    return [(batch, shapes[f"{name}.weight"][0][1], shapes[f"{name}.weight"][0][0])
            for name in projection_names(model)]


def kv_cache_bits(model, context, *, value_bits=16):
    """KV-cache bits one decoded token moves: it writes its own keys and values and reads those
    of ``context`` positions (itself included), each position ``2 * layers * kv_heads *
    head_dim`` values of ``value_bits`` (bf16 by default, as the checkpoint's ``torch_dtype``):
    ``(context + 1) * 2 * layers * kv_heads * head_dim * value_bits``.

    Raises ``TypeError("model must be a BitNetConfig, not dict")``, ``"context must be an
    integer of at least 1, not 0"`` (``TypeError`` for a non-integer, ``ValueError`` below
    1), the same for ``value_bits``."""
    _check_model(model)
    context = _check_count("context", context, 1)
    value_bits = _check_count("value_bits", value_bits, 1)
    per_position = 2 * model.num_hidden_layers * model.num_key_value_heads * model.head_dim
    return (context + 1) * per_position * value_bits


def head_bits(model, *, value_bits=16):
    """Bits of the output head's weights, read once per decode step:
    ``vocab_size * hidden_size * value_bits`` (the 2B-4T head is tied to the embedding and
    ships in bf16). The head is not a BitLinear and does not run on the array."""
    _check_model(model)
    value_bits = _check_count("value_bits", value_bits, 1)
    return model.vocab_size * model.hidden_size * value_bits


def decode_activity(accel, model, *, context, batch=1, pe=None, nonzero_fraction=None,
                    kv_value_bits=16, head_value_bits=16):
    """The :class:`Activity` of one decode step of ``batch`` sequences (``batch`` tokens):
    :func:`decode_jobs` on the array (:func:`token_activity`), each sequence's KV cache at
    ``context`` (:func:`kv_cache_bits`) and the output head read once (:func:`head_bits`;
    ``head_value_bits=0`` leaves it out). Divide its energy by ``batch`` for joules per token.

    Raises as the functions it calls; ``head_value_bits`` must be an integer of at least 0.
    """
    kv = kv_cache_bits(model, context, value_bits=kv_value_bits)
    head = 0 if _check_count("head_value_bits", head_value_bits, 0) == 0 else \
        head_bits(model, value_bits=head_value_bits)
    activity = token_activity(accel, decode_jobs(model, batch=batch), pe=pe,
                              nonzero_fraction=nonzero_fraction)
    return replace(activity, dram_kv_bits=batch * kv, dram_head_bits=head)


def weights_nonzero_fraction(weights):
    """The share of nonzero values over ``weights``, an iterable of ternary arrays (a
    checkpoint's projection weights), for ``nonzero_fraction``.

    Raises ``TypeError("weights must be an iterable of arrays, not int")``,
    ``ValueError("weights must hold at least one value")``."""
    try:
        arrays = [np.asarray(w) for w in weights]
    except TypeError:
        raise TypeError(f"weights must be an iterable of arrays, not "
                        f"{type(weights).__name__}") from None
    total = sum(a.size for a in arrays)
    if total == 0:
        raise ValueError("weights must hold at least one value")
    return sum(int(np.count_nonzero(a)) for a in arrays) / total
