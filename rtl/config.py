"""The one frozen configuration of a ternary accelerator, and every width derived from it.

Everything that depends on the array size, the activation width, the accumulator width or the
weight format is computed here once: the RTL blocks, the generator, the manifest and the
co-simulation driver all read it from :class:`AccelConfig` and never re-derive it.
"""

from dataclasses import dataclass, asdict
import hashlib
import json
import math

from golden.formats import FORMATS, INT8_WEIGHT_BITS, TERNARY_FORMATS


__all__ = ["AccelConfig", "ConfigError", "ConfigTypeError", "psum_width", "WEIGHT_FORMATS",
           "PE_TYPES", "ROW_SPACING", "VERILOG_KEYWORDS"]


#: Packed formats of ternary weights the hardware decodes (golden's table, :mod:`golden.formats`).
WEIGHT_FORMATS = TERNARY_FORMATS

#: Processing elements: the ternary PE, and the conventional int8 x int8 multiply-accumulate
#: baseline (``docs/synthesis.md``), whose weights travel as int8 lanes (weight format
#: ``"int8"``).
PE_TYPES = ("ternary", "int8")

#: The weight format of each PE when none is given.
DEFAULT_WEIGHT_FORMAT = {"ternary": "i2", "int8": "int8"}

#: The accumulator reads a row's stored sum two cycles before the row arrives and writes the
#: new sum one cycle after, without forwarding: a row may return at the earliest this many
#: cycles after its previous visit (``rtl.accumulator``).
ROW_SPACING = 4

MAX_ARRAY_DIM = 256
#: Widest activation: golden, the driver and the benches verify int8 activations (narrower
#: ones are int8 values in a smaller range), so nothing wider is generated.
MAX_ACT_BITS = 8
MAX_ACC_BITS = 64
MAX_WMEM_DEPTH = 1 << 20
MAX_ACC_DEPTH = 1 << 16
MAX_K_LIMIT = (1 << 24) - 1

#: Reserved words of Verilog-2005 and SystemVerilog-2017: a module named like one of them
#: would have to be instantiated as an escaped identifier.
VERILOG_KEYWORDS = frozenset("""
    accept_on alias always always_comb always_ff always_latch and assert assign assume
    automatic before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez
    cell chandle checker class clocking cmos config const constraint context continue cover
    covergroup coverpoint cross deassign default defparam design disable dist do edge else end
    endcase endchecker endclass endclocking endconfig endfunction endgenerate endgroup
    endinterface endmodule endpackage endprimitive endprogram endproperty endspecify
    endsequence endtable endtask enum event eventually expect export extends extern final
    first_match for force foreach forever fork forkjoin function generate genvar global
    highz0 highz1 if iff ifnone ignore_bins illegal_bins implements implies import incdir
    include initial inout input inside instance int integer interconnect interface intersect
    join join_any join_none large let liblist library local localparam logic longint
    macromodule matches medium modport module nand negedge nettype new nexttime nmos nor
    noshowcancelled not notif0 notif1 null or output package packed parameter pmos posedge
    primitive priority program property protected pull0 pull1 pulldown pullup
    pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase randsequence rcmos real
    realtime ref reg reject_on release repeat restrict return rnmos rpmos rtran rtranif0
    rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared sequence shortint
    shortreal showcancelled signed small soft solve specify specparam static string strong
    strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on table tagged
    task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0 tri1
    triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
    use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard
    wire with within wor xnor xor
""".split())


class ConfigError(ValueError):
    """An invalid accelerator configuration; the message is one line meant for the user.

    Attributes
    ----------
    field : str or None
        The :class:`AccelConfig` field the message is about (a command line names its option
        instead), or None for a job size.
    """

    def __init__(self, message, *, field=None):
        super().__init__(message)
        self.field = field


class ConfigTypeError(ConfigError, TypeError):
    """A configuration field of the wrong type (also a :class:`ConfigError`)."""


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


def _check_int(name, value, low, high, hint="", *, is_field=True):
    field = name if is_field else None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigTypeError(f"{name} must be an integer from {low} to {high}, not {value!r}",
                              field=field)
    if not low <= value <= high:
        raise ConfigError(f"{name} must be an integer from {low} to {high}, not {value}{hint}",
                          field=field)


def _check_choice(name, value, choices):
    text = " or ".join(repr(choice) for choice in choices)
    if not isinstance(value, str):
        raise ConfigTypeError(f"{name} must be {text}, not {value!r}", field=name)
    if value not in choices:
        raise ConfigError(f"{name} must be {text}, not {value!r}", field=name)


@dataclass(frozen=True, kw_only=True)
class AccelConfig:
    """Configuration of one generated accelerator: a value. Variants come from
    ``dataclasses.replace(config, rows=64)``; every derived quantity is a property.

    Parameters (keyword only)
    -------------------------
    rows : int
        Array rows, 1 to 256: the reduction (K) extent of one weight tile.
    cols : int
        Array columns, 1 to 256: the output (N) extent of one weight tile.
    act_bits : int
        Signed activation width, 2 to 8 (8 for BitNet b1.58).
    acc_bits : int
        Signed accumulator and result width. Refused if a GEMM with ``K = max_k`` could
        overflow it.
    weight_format : str or None
        ``"i2"`` (2 bits per weight) or ``"t5"`` (five weights per byte, base 3) for ternary
        PEs; ``"int8"`` (one byte per weight, the only format of the int8 baseline). None (the
        default) means ``"i2"``, or ``"int8"`` when ``pe="int8"``; :attr:`format` is the
        resolved :class:`golden.formats.WeightFormat`.
    wmem_depth : int or None
        Words in the packed weight SRAM, one word per array row of a tile, at least
        ``2 * rows`` so that the next tile streams in while the current one loads. None (the
        default) means ``2 * rows`` rounded up to a power of two, at least 32;
        :attr:`weight_buffer_depth` is the resolved depth.
    max_m : int
        Largest M (activation rows) of one job: the depth of the on-chip accumulator.
    max_k : int
        Largest K accepted by the command interface; sets the accumulator overflow bound.
    max_n : int
        Largest N accepted by the command interface.
    name : str
        Verilog name of the top-level module; other modules are prefixed with it. Verilog and
        SystemVerilog keywords are refused.
    pe : str
        ``"ternary"`` (the accelerator) or ``"int8"``: the same array and dataflow with
        conventional int8 x int8 multiply-accumulate PEs, a baseline for synthesis comparisons
        (``docs/synthesis.md``).
    result_lanes : int or None
        Result lanes per beat of the ``results`` stream, 1 to ``cols``: a result row leaves in
        :attr:`result_beats_per_row` beats of ``result_lanes * acc_bits`` bits
        (:class:`rtl.result_serializer.ResultSerializer`). None (the default) means ``cols``,
        one beat per row; :attr:`result_beat_lanes` is the resolved count.

    Raises
    ------
    ConfigTypeError
        (a ``TypeError`` and a :class:`ConfigError`) A field of the wrong type.
    ConfigError
        (a ``ValueError``) A field out of range, or fields that contradict each other.
    """

    rows: int = 8
    cols: int = 8
    act_bits: int = 8
    acc_bits: int = 32
    weight_format: str | None = None
    wmem_depth: int | None = None
    max_m: int = 256
    max_k: int = 65535
    max_n: int = 65535
    name: str = "ternary_accel"
    pe: str = "ternary"
    result_lanes: int | None = None

    def __post_init__(self):
        _check_int("rows", self.rows, 1, MAX_ARRAY_DIM)
        _check_int("cols", self.cols, 1, MAX_ARRAY_DIM)
        _check_int("act_bits", self.act_bits, 2, MAX_ACT_BITS)
        _check_int("acc_bits", self.acc_bits, 2, MAX_ACC_BITS)
        _check_choice("pe", self.pe, PE_TYPES)
        if self.pe == "int8":
            if self.weight_format not in (None, "int8"):
                raise ConfigError(f"weight_format must be 'int8' with pe='int8', "
                                  f"not {self.weight_format!r}", field="weight_format")
        elif self.weight_format is not None:
            _check_choice("weight_format", self.weight_format, TERNARY_FORMATS)
        if self.wmem_depth is not None:
            _check_int("wmem_depth", self.wmem_depth, 2 * self.rows, MAX_WMEM_DEPTH,
                       f" (it must hold two tiles of {self.rows} rows)")
        _check_int("max_m", self.max_m, 1, MAX_ACC_DEPTH)
        _check_int("max_k", self.max_k, 1, MAX_K_LIMIT)
        _check_int("max_n", self.max_n, 1, MAX_K_LIMIT)
        if not isinstance(self.name, str):
            raise ConfigTypeError(f"name must be a string, not {self.name!r}", field="name")
        if not self.name.isidentifier() or not self.name.isascii():
            raise ConfigError(f"name must be a Verilog identifier (letters, digits, '_'), "
                              f"not {self.name!r}", field="name")
        if self.name in VERILOG_KEYWORDS:
            raise ConfigError(f"name must not be a Verilog or SystemVerilog keyword, "
                              f"not {self.name!r}", field="name")
        if self.result_lanes is not None:
            _check_int("result_lanes", self.result_lanes, 1, self.cols,
                       f" (one result row is {self.cols} lanes)")
        needed = self.acc_bits_needed
        if self.acc_bits < needed:
            raise ConfigError(
                f"acc_bits must be at least {needed} so that no result overflows with K up to "
                f"max_k={self.max_k} and {self.act_bits}-bit activations, not {self.acc_bits}",
                field="acc_bits")

    # -- resolved defaults ----------------------------------------------------------------

    @property
    def format(self):
        """The packed weight format (:class:`golden.formats.WeightFormat`), default resolved."""
        return FORMATS[self.weight_format or DEFAULT_WEIGHT_FORMAT[self.pe]]

    @property
    def weight_buffer_depth(self):
        """Words in the packed weight SRAM: ``wmem_depth``, or by default ``2 * rows`` rounded
        up to a power of two, at least 32."""
        if self.wmem_depth is not None:
            return self.wmem_depth
        return max(32, 1 << (2 * self.rows - 1).bit_length())

    @property
    def result_beat_lanes(self):
        """Result lanes per ``results`` beat: ``result_lanes``, or by default ``cols``."""
        return self.cols if self.result_lanes is None else self.result_lanes

    @property
    def result_beats_per_row(self):
        """``results`` beats per result row, ``ceil(cols / result_beat_lanes)`` (1 by
        default); the last beat's lanes past ``cols`` are zero."""
        return math.ceil(self.cols / self.result_beat_lanes)

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
        return self.format.word_bits(self.cols)

    @property
    def act_stream_bits(self):
        return self.rows * self.act_bits

    @property
    def result_row_bits(self):
        """Bits of one result row, ``cols * acc_bits``: a result queue entry."""
        return self.cols * self.acc_bits

    @property
    def result_stream_bits(self):
        """Bits of one ``results`` beat, ``result_beat_lanes * acc_bits``."""
        return self.result_beat_lanes * self.acc_bits

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
        """Cycles from an activation beat accepted to its result beat valid, ``rows + cols +
        5``: the sum of the latencies the blocks on the path declare (:mod:`rtl.pipeline`):
        the input registers (the weight loader's 2, plus 1), the row skew, the array and the
        column deskew (``rows + cols - 1`` for every column), the accumulator's registered sum
        (1) and the result queue (2)."""
        from .pipeline import result_latency    # the blocks import this module
        return result_latency(self)

    @property
    def result_queue_depth(self):
        """Entries of the result queue: a slot is claimed when a row of a last K tile enters and
        freed :attr:`latency` cycles later when an always-ready sink takes its result; with the
        queue's registered room flag (one cycle late, one slot of slack) ``latency + 2`` slots
        never hold the activations back (``tests/test_result_queue.py``)."""
        return self.latency + 2

    def cycles(self, m, k, n):
        """Exact cycles of one job, sources always valid and sinks always ready.

        Counted from the first input beat accepted (the first weight word) to the last
        result beat accepted, both included. With one result beat per row
        (:attr:`result_beats_per_row` 1, the default), ``T`` tiles and
        ``P = max(M, rows, ROW_SPACING)``::

            cycles = rows + 1 + (T - 1) * P + M - 1 + latency + 1
                   = 2 * rows + cols + 6 + (T - 1) * max(M, rows, 4) + M

        The first tile's ``rows`` words are buffered before the loader starts (``rows``
        cycles); its activations may enter one cycle later (the loader sets ``shadow_full``
        in the cycle it starts, and the first row of a tile waits for it); each further tile
        starts ``P`` cycles after the previous one, bounded by the M activation beats, by the
        ``rows`` words the loader moves into the shadow weights, or by the accumulator, which
        needs a row's visits ``ROW_SPACING`` (4) cycles apart.

        With several beats per row the result stream can be the bottleneck, and the result
        queue's credits then hold the activations back: the count is
        :meth:`schedule_cycles`, the exact recurrence over the job's activation rows (which
        also gives the formula above with one beat per row, ``tests/test_config.py``).
        """
        self._check_job(m, k, n)
        if self.result_beats_per_row > 1:
            return self.schedule_cycles(m, k, n)
        tiles = self.tiles(k, n)
        period = max(m, self.rows, ROW_SPACING)
        return self.rows + 1 + (tiles - 1) * period + m - 1 + self.latency + 1

    def _check_job(self, m, k, n):
        for label, value, top in (("M", m, self.max_m), ("K", k, self.max_k),
                                  ("N", n, self.max_n)):
            _check_int(label, value, 1, top, is_field=False)

    def schedule_cycles(self, m, k, n):
        """Exact cycles of one job (as :meth:`cycles`) by a recurrence over its activation
        rows that mirrors the hardware's handshakes cycle for cycle; valid for every
        configuration, and the only model with several result beats per row.

        Cycle 0 takes the first weight word. Rows ``i`` are numbered in job order (tiles
        ``j`` N-tile-major, rows ``0 .. M-1`` in each); ``a(i)`` is the cycle row ``i``
        enters, ``L = latency``, ``B = result_beats_per_row``, ``D = result_queue_depth``.

        * The loader starts tile ``j`` at ``s(0) = rows``, ``s(j) = max(a(first row of
          j-1) + 1, s(j-1) + rows)`` (after the swap that empties the shadow weights, and
          after loading tile ``j-1``'s ``rows`` words); the first row of tile ``j`` enters
          no earlier than ``s(j) + 1``.
        * ``a(i) >= a(i-1) + 1`` and ``a(i) >= a(i-M) + ROW_SPACING`` (the accumulator).
        * A row of a last K tile (the ``q``-th such row, ``q`` from 0) enters only in a cycle
          ``t`` whose ``has_room`` holds: the claims of cycles up to ``t - 2`` minus the rows
          that left the queue in cycles up to ``t - 2`` are at most ``D - 2``. Its result
          row's first beat is valid at ``h(q) = max(a(i) + L, e(q-1) + 1)`` and its last
          beat leaves at ``e(q) = h(q) + B - 1``.

        Every row enters in the first cycle these allow; ``cycles = e(last) + 1``.
        """
        self._check_job(m, k, n)
        import bisect
        beats, room, latency = self.result_beats_per_row, self.result_queue_depth - 2, \
            self.latency
        k_tiles = math.ceil(k / self.rows)
        accepted = []       # a(i), every row
        claims = []         # a(i) of the rows of last K tiles
        leaves = []         # e(q), the cycle each result row's last beat leaves
        load = self.rows
        for tile in range(self.tiles(k, n)):
            last_k = tile % k_tiles == k_tiles - 1
            if tile:
                load = max(accepted[-m] + 1, load + self.rows)
            for row in range(m):
                t = accepted[-1] + 1 if accepted else 0
                if row == 0:
                    t = max(t, load + 1)
                if len(accepted) >= m:
                    t = max(t, accepted[-m] + ROW_SPACING)
                while last_k:
                    held = bisect.bisect_right(claims, t - 2) - room
                    if held <= 0 or leaves[held - 1] <= t - 2:
                        break
                    t = leaves[held - 1] + 2
                accepted.append(t)
                if last_k:
                    claims.append(t)
                    head = max(t + latency, leaves[-1] + 1) if leaves else t + latency
                    leaves.append(head + beats - 1)
        return leaves[-1] + 1

    def utilization(self, m, k, n, cycles=None):
        """Useful MACs over PE-cycles: ``M*K*N / (rows * cols * cycles)``."""
        if cycles is None:
            cycles = self.cycles(m, k, n)
        return (m * k * n) / (self.pe_count * cycles)

    # -- identity -------------------------------------------------------------------------

    def as_dict(self):
        """Every parameter with its default resolved (``weight_format``, ``wmem_depth``;
        ``result_lanes`` only when a row takes several beats, so that the one-beat design keeps
        the digest and the Verilog header it had before the option):
        what the manifest records and the digest hashes. ``AccelConfig(**d)`` rebuilds the
        same hardware."""
        values = asdict(self)
        values["weight_format"] = self.format.name
        values["wmem_depth"] = self.weight_buffer_depth
        if self.result_beats_per_row == 1:
            # One beat per row is the hardware of before the option: same digest, same Verilog.
            del values["result_lanes"]
        else:
            values["result_lanes"] = self.result_lanes
        return values

    @property
    def digest(self):
        """A short hash of every parameter: names build folders and is written in manifests."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
