"""The one frozen configuration of a ternary accelerator, and every width derived from it.

Everything that depends on the array size, the activation width, the accumulator width or the
weight format is computed here once: the RTL blocks, the generator, the manifest and the
co-simulation driver all read it from :class:`AccelConfig` and never re-derive it.
"""

from dataclasses import dataclass, asdict
import hashlib
import json
import math


__all__ = ["AccelConfig", "ConfigError", "psum_width", "WEIGHT_FORMATS", "PE_TYPES",
           "ROW_SPACING"]


#: Packed weight formats the hardware decodes (see ``docs/numerics.md``).
WEIGHT_FORMATS = ("i2", "t5")

#: Processing elements: the ternary PE, and the conventional int8 x int8 multiply-accumulate
#: baseline (``docs/synthesis.md``), whose weights travel as int8 lanes (weight format
#: ``"int8"``).
PE_TYPES = ("ternary", "int8")

#: The accumulator reads a row's stored sum two cycles before the row arrives and writes the
#: new sum one cycle after, without forwarding: a row may return at the earliest this many
#: cycles after its previous visit (``rtl.accumulator``).
ROW_SPACING = 4

#: Bits of one int8-baseline weight.
INT8_WEIGHT_BITS = 8

MAX_ARRAY_DIM = 256
MAX_ACT_BITS = 16
MAX_ACC_BITS = 64
MAX_WMEM_DEPTH = 1 << 20
MAX_ACC_DEPTH = 1 << 16
MAX_K_LIMIT = (1 << 24) - 1


class ConfigError(ValueError):
    """An invalid accelerator configuration; the message is one line meant for the user."""


def psum_width(terms, act_bits, weight_bits=None):
    """Bits of a signed sum of ``terms`` products ``x * w`` with ``x`` a signed ``act_bits``
    integer and ``w`` in {-1, 0, +1} (``weight_bits=None``) or a signed ``weight_bits``
    integer.

    The extreme magnitude is ``terms * 2**(act_bits - 1)`` for ternary weights (reached by
    ``-128 * -1`` for 8-bit activations) and ``terms * 2**(act_bits - 1) * 2**(weight_bits - 1)``
    for integer weights (``-128 * -128``), and it must be representable with both signs.
    """
    shift = act_bits - 1 + (weight_bits - 1 if weight_bits else 0)
    return (terms << shift).bit_length() + 1


def _check_int(name, value, low, high, hint=""):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, not {value}{hint}")


@dataclass(frozen=True)
class AccelConfig:
    """Configuration of one generated accelerator.

    Parameters
    ----------
    rows : int
        Array rows, 1 to 256: the reduction (K) extent of one weight tile.
    cols : int
        Array columns, 1 to 256: the output (N) extent of one weight tile.
    act_bits : int
        Signed activation width, 2 to 16 (8 for BitNet b1.58).
    acc_bits : int
        Signed accumulator and result width. Refused if a GEMM with ``K = max_k`` could
        overflow it.
    weight_format : str or None
        ``"i2"`` (2 bits per weight) or ``"t5"`` (five weights per byte, base 3) for ternary
        PEs; ``"int8"`` (one byte per weight, the only format of the int8 baseline). The
        default is ``"i2"``, or ``"int8"`` when ``pe="int8"``.
    wmem_depth : int or None
        Words in the packed weight SRAM, one word per array row of a tile. At least
        ``2 * rows`` so that the next tile streams in while the current one loads; the default
        is ``2 * rows`` rounded up to a power of two, at least 32.
    max_m : int
        Largest M (activation rows) of one job: the depth of the on-chip accumulator.
    max_k : int
        Largest K accepted by the command interface; sets the accumulator overflow bound.
    max_n : int
        Largest N accepted by the command interface.
    name : str
        Verilog name of the top-level module; other modules are prefixed with it.
    pe : str
        ``"ternary"`` (the accelerator) or ``"int8"``: the same array and dataflow with
        conventional int8 x int8 multiply-accumulate PEs, a baseline for synthesis comparisons
        (``docs/synthesis.md``).
    """

    rows: int = 8
    cols: int = 8
    act_bits: int = 8
    acc_bits: int = 32
    weight_format: str = None
    wmem_depth: int = None
    max_m: int = 256
    max_k: int = 65535
    max_n: int = 65535
    name: str = "ternary_accel"
    pe: str = "ternary"

    def __post_init__(self):
        _check_int("rows", self.rows, 1, MAX_ARRAY_DIM)
        _check_int("cols", self.cols, 1, MAX_ARRAY_DIM)
        _check_int("act_bits", self.act_bits, 2, MAX_ACT_BITS)
        _check_int("acc_bits", self.acc_bits, 2, MAX_ACC_BITS)
        if self.pe not in PE_TYPES:
            raise ConfigError(f"pe must be 'ternary' or 'int8', not {self.pe!r}")
        if self.weight_format is None:
            object.__setattr__(self, "weight_format", "i2" if self.pe == "ternary" else "int8")
        if self.pe == "int8":
            if self.weight_format != "int8":
                raise ConfigError(f"weight_format must be 'int8' with pe='int8', "
                                  f"not {self.weight_format!r}")
        elif self.weight_format not in WEIGHT_FORMATS:
            raise ConfigError(f"weight_format must be 'i2' or 't5', not {self.weight_format!r}")
        if self.wmem_depth is None:
            object.__setattr__(self, "wmem_depth",
                               max(32, 1 << (2 * self.rows - 1).bit_length()))
        _check_int("wmem_depth", self.wmem_depth, 2 * self.rows, MAX_WMEM_DEPTH,
                   f" (it must hold two tiles of {self.rows} rows)")
        _check_int("max_m", self.max_m, 1, MAX_ACC_DEPTH)
        _check_int("max_k", self.max_k, 1, MAX_K_LIMIT)
        _check_int("max_n", self.max_n, 1, MAX_K_LIMIT)
        if not isinstance(self.name, str) or not self.name.isidentifier() or not self.name.isascii():
            raise ConfigError(f"name must be a Verilog identifier (letters, digits, '_'), "
                              f"not {self.name!r}")
        needed = self.acc_bits_needed
        if self.acc_bits < needed:
            raise ConfigError(
                f"acc_bits must be at least {needed} so that no result overflows with K up to "
                f"max_k={self.max_k} and {self.act_bits}-bit activations, not {self.acc_bits}")

    # -- derived widths -------------------------------------------------------------------

    @property
    def weight_bits(self):
        """Bits of one weight as a PE holds it: 2 (a ternary code) or 8 (int8 baseline)."""
        return 2 if self.pe == "ternary" else INT8_WEIGHT_BITS

    @property
    def _product_weight_bits(self):
        return None if self.pe == "ternary" else INT8_WEIGHT_BITS

    @property
    def acc_bits_needed(self):
        """Smallest accumulator that holds any result of a job with ``K <= max_k``."""
        return psum_width(max(self.max_k, self.rows), self.act_bits, self._product_weight_bits)

    def psum_bits(self, row):
        """Width of the partial sum leaving array row ``row`` (0 at the top)."""
        return psum_width(row + 1, self.act_bits, self._product_weight_bits)

    @property
    def column_bits(self):
        """Width of a finished column sum, at the bottom of the array."""
        return self.psum_bits(self.rows - 1)

    @property
    def word_bits(self):
        """Bits of one packed weight SRAM word: one array row of ``cols`` weights."""
        if self.weight_format == "i2":
            return 2 * self.cols
        if self.weight_format == "int8":
            return INT8_WEIGHT_BITS * self.cols
        return 8 * math.ceil(self.cols / 5)

    @property
    def act_stream_bits(self):
        return self.rows * self.act_bits

    @property
    def result_stream_bits(self):
        return self.cols * self.acc_bits

    @property
    def m_bits(self):
        return self.max_m.bit_length()

    @property
    def k_bits(self):
        return self.max_k.bit_length()

    @property
    def n_bits(self):
        return self.max_n.bit_length()

    @property
    def pe_count(self):
        return self.rows * self.cols

    # -- the exact cycle model ------------------------------------------------------------

    def tiles(self, k, n):
        """Number of weight tiles of a ``K x N`` weight matrix."""
        return math.ceil(k / self.rows) * math.ceil(n / self.cols)

    @property
    def latency(self):
        """Cycles from an activation beat accepted to its result beat valid: the three input
        registers, the row skew, the array, the column deskew, the accumulator's registered
        sum and the result queue (2)."""
        return self.rows + self.cols + 5

    @property
    def result_queue_depth(self):
        """Entries of the result queue: a slot is claimed when a row of a last K tile enters and
        freed ``latency`` cycles later when an always-ready sink takes its result; with the
        queue's registered room flag (one cycle late, one slot of slack) ``latency + 2`` slots
        never hold the activations back."""
        return self.latency + 2

    def cycles(self, m, k, n):
        """Exact cycles of one job, sources always valid and sinks always ready.

        Counted from the first input beat accepted (the first weight word) to the last
        result beat accepted, both included. With ``T`` tiles and
        ``P = max(M, rows, ROW_SPACING)``::

            cycles = rows + 1 + (T - 1) * P + M - 1 + latency + 1
                   = 2 * rows + cols + 6 + (T - 1) * max(M, rows, 4) + M

        The first tile's ``rows`` words are buffered before the loader starts (``rows``
        cycles); its activations may enter one cycle later; each further tile starts ``P``
        cycles after the previous one, bounded by the M activation beats, by the ``rows``
        words the loader moves into the shadow weights, or by the accumulator, which needs
        a row's visits ``ROW_SPACING`` (4) cycles apart.
        """
        for label, value, top in (("M", m, self.max_m), ("K", k, self.max_k),
                                  ("N", n, self.max_n)):
            _check_int(label, value, 1, top)
        tiles = self.tiles(k, n)
        period = max(m, self.rows, ROW_SPACING)
        return self.rows + 1 + (tiles - 1) * period + m - 1 + self.latency + 1

    def utilization(self, m, k, n, cycles=None):
        """Useful MACs over PE-cycles: ``M*K*N / (rows * cols * cycles)``."""
        if cycles is None:
            cycles = self.cycles(m, k, n)
        return (m * k * n) / (self.pe_count * cycles)

    # -- identity -------------------------------------------------------------------------

    def as_dict(self):
        return asdict(self)

    @property
    def digest(self):
        """A short hash of every parameter: names build folders and is written in manifests."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
