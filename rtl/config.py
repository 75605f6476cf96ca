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

from . import interface as _interface


__all__ = ["AccelConfig", "ConfigError", "ConfigTypeError", "psum_width", "WEIGHT_FORMATS",
           "PE_TYPES", "ROW_SPACING", "VERILOG_KEYWORDS", "MIN_WMEM_TILES"]


#: Packed formats of ternary weights the hardware decodes (golden's table, :mod:`golden.formats`).
WEIGHT_FORMATS = TERNARY_FORMATS

#: Processing elements: the ternary PE, and the conventional int8 x int8 multiply-accumulate
#: baseline (``docs/synthesis.md``), whose weights travel as int8 lanes (weight format
#: ``"int8"``).
PE_TYPES = ("ternary", "int8")

#: The weight format of each PE when none is given.
DEFAULT_WEIGHT_FORMAT = {"ternary": "i2", "int8": "int8"}

#: The accumulator reads a row's stored sum two cycles before the row arrives and writes the
#: new sum one cycle after: without forwarding a row may return at the earliest this many
#: cycles after its previous visit (``rtl.accumulator``). Configurations whose tiles can arrive
#: faster than that (:attr:`AccelConfig.accumulator_forwarding`) forward the sums instead and
#: take a row every cycle (:attr:`AccelConfig.row_spacing`).
ROW_SPACING = 4

#: Fewest tile slots of the weight store: one being read along the diagonal, one being written.
MIN_WMEM_TILES = 2

MAX_ARRAY_DIM = 256
#: Widest activation: golden, the driver and the benches verify int8 activations (narrower
#: ones are int8 values in a smaller range), so nothing wider is generated.
MAX_ACT_BITS = 8
MAX_ACC_BITS = 64
MAX_WMEM_TILES = 1 << 12
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
    weight_port_bits : int or None
        Width ``W`` of the ``weights`` stream: one beat carries ``k`` whole tile rows
        (:attr:`rows_per_beat`, 1 to ``rows``), their ``k * cols`` weights packed together by
        the format, so ``W = format.word_bits(k * cols)`` (``2 * k * cols`` for ``i2``,
        ``8 * ceil(k * cols / 5)`` for ``t5``). None (the default) means one row per beat;
        :attr:`word_bits` is the resolved width. Anything else is refused, naming the
        smallest and the largest legal width.
    wmem_tiles : int or None
        Tile slots of the weight store (``rtl.weight_store``): ``rows`` banks, one per array
        row, each holding that row of every stored tile, ``cols`` decoded weights wide. At
        least 2. None (the default) means :attr:`default_wmem_tiles`, enough that the weight
        stream never waits at the port's full rate; :attr:`weight_store_tiles` is the resolved
        count.
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
        one beat per row (with ``interface="axi"``: the results of one data beat);
        :attr:`result_beat_lanes` is the resolved count.
    interface : str
        ``"stream"`` (the default: command and data streams, :class:`rtl.top.TernaryAccelerator`)
        or ``"axi"`` (AXI4 managers and AXI4-Lite registers, :class:`rtl.axi.top.AxiAccelerator`;
        :mod:`rtl.interface` says what it derives). With ``"axi"``, ``weight_port_bits`` must be
        a power of two from 32 to 4096 (by default the widest legal one up to 1024).
    data_port_bits : int or None
        ``interface="axi"`` only: width of the activation and result port, 32 to 1024, a power
        of two that holds an activation row and a result; by default the activation row rounded
        up (:func:`rtl.interface.data_port_bits`).
    read_latency : int or None
        ``interface="axi"`` only: memory latency in cycles that the read FIFOs cover at full
        rate, 1 to 65536; by default :data:`rtl.interface.DEFAULT_READ_LATENCY` (100).

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
    weight_port_bits: int | None = None
    wmem_tiles: int | None = None
    max_m: int = 256
    max_k: int = 65535
    max_n: int = 65535
    name: str = "ternary_accel"
    pe: str = "ternary"
    result_lanes: int | None = None
    interface: str = "stream"
    data_port_bits: int | None = None
    read_latency: int | None = None

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
        if self.weight_port_bits is not None:
            self._check_weight_port_bits()
        if self.wmem_tiles is not None:
            _check_int("wmem_tiles", self.wmem_tiles, MIN_WMEM_TILES, MAX_WMEM_TILES,
                       " (one tile being read, one being written)")
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
        _check_choice("interface", self.interface, _interface.INTERFACES)
        if self.interface == "axi":
            _interface.check_axi(self, ConfigError, _check_int)
        else:
            for name in ("data_port_bits", "read_latency"):
                if getattr(self, name) is not None:
                    raise ConfigError(f"{name} applies to interface='axi' only, not "
                                      f"{self.interface!r}", field=name)
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

    def _check_weight_port_bits(self):
        value, fmt = self.weight_port_bits, self.format
        low, high = fmt.word_bits(self.cols), fmt.word_bits(self.rows * self.cols)
        what = (f"the width of a whole number of tile rows of {self.cols} {fmt.name} weights, "
                f"from {low} (one row) to {high} (the whole tile of {self.rows} rows)")
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigTypeError(f"weight_port_bits must be {what}, not {value!r}",
                                  field="weight_port_bits")
        if value not in self.legal_weight_port_bits:
            powers = [bits for bits in self.legal_weight_port_bits if bits & (bits - 1) == 0]
            hint = f"; powers of two among them: {', '.join(map(str, powers))}" if powers \
                else ""
            raise ConfigError(f"weight_port_bits must be {what}, not {value}{hint}",
                              field="weight_port_bits")

    @property
    def legal_weight_port_bits(self):
        """Every legal ``weight_port_bits``, ascending: the format's word of ``k`` rows for
        ``k = 1 .. rows`` (a width that several ``k`` share appears once)."""
        return tuple(sorted({self.format.word_bits(k * self.cols)
                             for k in range(1, self.rows + 1)}))

    @property
    def rows_per_beat(self):
        """Tile rows in one ``weights`` beat (``k``): the most rows whose packed word is
        :attr:`word_bits` wide (``t5`` with one or two columns packs several rows in the byte
        of one; otherwise 1 by default), up to ``rows``."""
        width = self.word_bits
        return max(k for k in range(1, self.rows + 1)
                   if self.format.word_bits(k * self.cols) == width)
    @property
    def default_wmem_tiles(self):
        """``2 + ceil((rows + 1) / floor(rows / k))``: a tile's slot is held from its first beat
        until its last row is read, ``rows + 1`` cycles after its first row is, so this many
        slots keep the weight stream at one beat per cycle while tiles take ``rows / k``
        cycles each (``tests/test_config.py`` checks that more never helps)."""
        return 2 + math.ceil((self.rows + 1) / (self.rows // self.rows_per_beat))

    @property
    def weight_store_tiles(self):
        """Tile slots of the weight store: ``wmem_tiles``, or :attr:`default_wmem_tiles`."""
        return self.default_wmem_tiles if self.wmem_tiles is None else self.wmem_tiles

    @property
    def accumulator_forwarding(self):
        """The accumulator forwards its last three sums (``rtl.accumulator``): only when a
        tile can take fewer than :data:`ROW_SPACING` cycles, ``floor(rows / k) < 4``."""
        return self.rows // self.rows_per_beat < ROW_SPACING

    @property
    def row_spacing(self):
        """Fewest cycles between two visits of one activation row to the accumulator: 1 with
        :attr:`accumulator_forwarding`, else :data:`ROW_SPACING` (4)."""
        return 1 if self.accumulator_forwarding else ROW_SPACING

    @property
    def result_beat_lanes(self):
        """Result lanes per ``results`` beat: ``result_lanes``, or by default ``cols`` (with
        ``interface="axi"``, the results of one data beat)."""
        if self.result_lanes is not None:
            return self.result_lanes
        return _interface.result_lanes(self) if self.interface == "axi" else self.cols

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
        """Bits of one ``weights`` beat (``W``): :attr:`rows_per_beat` tile rows of ``cols``
        weights packed together (``weight_port_bits``, by default the word of one row)."""
        if self.weight_port_bits is not None:
            return self.weight_port_bits
        if self.interface == "axi":
            return _interface.default_weight_port_bits(self)
        return self.format.word_bits(self.cols)

    @property
    def beat_bits_per_weight(self):
        """Bits the port moves per weight: ``W / (k * cols)`` (1.6 for ``t5`` when ``k * cols``
        is a multiple of 5)."""
        return self.word_bits / (self.rows_per_beat * self.cols)

    def weight_beats(self, k, n):
        """``weights`` beats of a ``K x N`` job: ``ceil(tiles * rows / k)`` (the job's last
        beat is padded with zero rows)."""
        return math.ceil(self.tiles(k, n) * self.rows / self.rows_per_beat)

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
        """Cycles from an activation beat accepted to its result beat valid, ``rows + 5``: the
        sum of the latencies the blocks on the path declare (:mod:`rtl.pipeline`): the input
        registers (the weight store's fetch register and bank read, 2), the row skew and the
        array's partial-sum pipeline (``rows`` for every column: activations are broadcast
        along a row), the accumulator's registered sum (1) and the result queue (2)."""
        from .pipeline import result_latency    # the blocks import this module
        return result_latency(self)

    @property
    def result_queue_depth(self):
        """Entries of the result queue: a slot is claimed when a row of a last K tile enters and
        freed :attr:`latency` cycles later when an always-ready sink takes its result; with the
        queue's registered room flag (one cycle late, one slot of slack) ``latency + 2`` slots
        never hold the activations back (``tests/test_result_queue.py``)."""
        return self.latency + 2

    @property
    def slot_hold(self):
        """Cycles from a tile's first activation row accepted to the first cycle the weight
        store may take a beat into its slot again: the fetch register, then ``rows`` bank reads
        down the diagonal, then the store's occupancy register; ``rows + 1``."""
        from .pipeline import slot_hold    # the blocks import this module
        return slot_hold(self)

    def cycles(self, m, k, n):
        """Exact cycles of one job, sources always valid and sinks always ready.

        Counted from the first input beat accepted (the first weight beat) to the last
        result beat accepted, both included. With the default weight store
        (:attr:`default_wmem_tiles`) and one result beat per row, for ``T`` tiles, ``k``
        tile rows per weight beat and ``S`` = :attr:`row_spacing`::

            cycles = max(ceil(rows / k) + (T - 1) * max(M, S), ceil(T * rows / k))
                     + M + latency

        The first tile may start once its last row is in the store (``ceil(rows / k)``
        beats); then every tile takes ``max(M, S)`` cycles of activations, unless the weight
        stream is slower: the job then ends ``M + latency`` cycles after its last weight beat
        (``ceil(T * rows / k)`` beats, one per cycle). :meth:`tile_starts` is the exact
        recurrence for any store depth; with several result beats per row the result stream
        can also hold the activations back, and the count is :meth:`schedule_cycles`.
        """
        self.check_job(m, k, n)
        if self.result_beats_per_row > 1:
            return self.schedule_cycles(m, k, n)
        starts = self.tile_starts(m, k, n)
        return starts[-1] + m - 1 + self.latency + 1

    def check_job(self, m, k, n):
        """Refuse a job size outside ``1..max_m``, ``1..max_k``, ``1..max_n`` (``ValueError``,
        ``TypeError`` for a non-integer), naming the size."""
        for label, value, top in (("M", m, self.max_m), ("K", k, self.max_k),
                                  ("N", n, self.max_n)):
            _check_int(label, value, 1, top, is_field=False)

    def _weight_schedule(self, tiles):
        """The weight side of the cycle model: ``complete(j, starts)`` is the cycle the beat
        holding tile ``j``'s last row is accepted, given ``starts`` (the first-row cycles of the
        tiles before ``j``). Beats are one per cycle except the beat that holds a tile's row 0,
        which needs a free slot: it waits until the tile ``wmem_tiles`` earlier is
        :attr:`slot_hold` cycles past its start. The last tile's padding rows need none."""
        rows, per_beat, depth = self.rows, self.rows_per_beat, self.weight_store_tiles
        hold = self.slot_hold

        def first_beat(j):
            return j * rows // per_beat

        admitted = []       # the cycle the first beat of tile j is accepted

        def admit(j, starts):
            t = 0 if j == 0 else admitted[j - 1] + first_beat(j) - first_beat(j - 1)
            if j >= depth:
                t = max(t, starts[j - depth] + hold)
            admitted.append(t)

        def complete(j, starts):
            while len(admitted) <= j:
                admit(len(admitted), starts)
            last = ((j + 1) * rows - 1) // per_beat
            if j + 1 < tiles and last == first_beat(j + 1):
                if len(admitted) <= j + 1:
                    admit(j + 1, starts)
                return admitted[j + 1]
            return admitted[j] + last - first_beat(j)

        return complete

    def tile_starts(self, m, k, n):
        """The cycle each tile's first activation row is accepted (one result beat per row, a
        source that keeps up): ``a(0) = c(0) + 1`` and ``a(j) = max(a(j-1) + max(M, S),
        c(j) + 1)``, with ``c(j)`` the cycle the beat completing tile ``j`` is accepted
        (:meth:`_weight_schedule`) and ``S`` = :attr:`row_spacing`. The rows of a tile then
        enter on consecutive cycles."""
        self.check_job(m, k, n)
        tiles = self.tiles(k, n)
        complete = self._weight_schedule(tiles)
        period = max(m, self.row_spacing)
        starts = []
        for j in range(tiles):
            t = complete(j, starts) + 1
            if starts:
                t = max(t, starts[-1] + period)
            starts.append(t)
        return starts

    def schedule_cycles(self, m, k, n):
        """Exact cycles of one job (as :meth:`cycles`) by a recurrence over its activation
        rows that mirrors the hardware's handshakes cycle for cycle; valid for every
        configuration, and the only model with several result beats per row.

        Cycle 0 takes the first weight beat. Rows ``i`` are numbered in job order (tiles
        ``j`` N-tile-major, rows ``0 .. M-1`` in each); ``a(i)`` is the cycle row ``i``
        enters, ``L = latency``, ``B = result_beats_per_row``, ``D = result_queue_depth``,
        ``S`` = :attr:`row_spacing`.

        * The first row of tile ``j`` enters no earlier than ``c(j) + 1``, ``c(j)`` the cycle
          the weight beat completing tile ``j`` is accepted (:meth:`_weight_schedule`).
        * ``a(i) >= a(i-1) + 1`` and ``a(i) >= a(i-M) + S`` (the accumulator).
        * A row of a last K tile (the ``q``-th such row, ``q`` from 0) enters only in a cycle
          ``t`` whose ``has_room`` holds: the claims of cycles up to ``t - 2`` minus the rows
          that left the queue in cycles up to ``t - 2`` are at most ``D - 2``. Its result
          row's first beat is valid at ``h(q) = max(a(i) + L, e(q-1) + 1)`` and its last
          beat leaves at ``e(q) = h(q) + B - 1``.

        Every row enters in the first cycle these allow; ``cycles = e(last) + 1``.
        """
        return self.result_row_ends(m, k, n)[-1] + 1

    def result_row_ends(self, m, k, n):
        """``e(q)`` of :meth:`schedule_cycles` for every result row in stream order: the cycle
        its last beat leaves (its beats leave on cycles ``e(q) - B + 1 .. e(q)``), counted from
        the first weight beat accepted."""
        self.check_job(m, k, n)
        import bisect
        beats, room, latency = self.result_beats_per_row, self.result_queue_depth - 2, \
            self.latency
        spacing = self.row_spacing
        k_tiles = math.ceil(k / self.rows)
        tiles = self.tiles(k, n)
        complete = self._weight_schedule(tiles)
        accepted = []       # a(i), every row
        starts = []         # a(i) of the first row of every tile
        claims = []         # a(i) of the rows of last K tiles
        leaves = []         # e(q), the cycle each result row's last beat leaves
        for tile in range(tiles):
            last_k = tile % k_tiles == k_tiles - 1
            for row in range(m):
                t = accepted[-1] + 1 if accepted else 0
                if row == 0:
                    t = max(t, complete(tile, starts) + 1)
                if len(accepted) >= m:
                    t = max(t, accepted[-m] + spacing)
                while last_k:
                    held = bisect.bisect_right(claims, t - 2) - room
                    if held <= 0 or leaves[held - 1] <= t - 2:
                        break
                    t = leaves[held - 1] + 2
                accepted.append(t)
                if row == 0:
                    starts.append(t)
                if last_k:
                    claims.append(t)
                    head = max(t + latency, leaves[-1] + 1) if leaves else t + latency
                    leaves.append(head + beats - 1)
        return leaves

    def utilization(self, m, k, n, cycles=None):
        """Useful MACs over PE-cycles: ``M*K*N / (rows * cols * cycles)``."""
        if cycles is None:
            cycles = self.cycles(m, k, n)
        return (m * k * n) / (self.pe_count * cycles)

    # -- identity -------------------------------------------------------------------------

    def as_dict(self):
        """Every parameter with its default resolved (``weight_format``,
        ``weight_port_bits``, ``wmem_tiles``; ``interface`` and its fields only with
        ``interface="axi"``;
        ``result_lanes`` only when a row takes several beats, so that the one-beat design keeps
        the digest and the Verilog header it had before the option):
        what the manifest records and the digest hashes. ``AccelConfig(**d)`` rebuilds the
        same hardware."""
        values = asdict(self)
        values["weight_format"] = self.format.name
        values["weight_port_bits"] = self.word_bits
        values["wmem_tiles"] = self.weight_store_tiles
        if self.result_beats_per_row == 1:
            # One beat per row is the hardware of before the option: same digest, same Verilog.
            del values["result_lanes"]
        else:
            values["result_lanes"] = self.result_beat_lanes
        if self.interface == "axi":
            values["data_port_bits"] = _interface.data_port_bits(self)
            values["read_latency"] = _interface.read_latency(self)
        else:
            # The stream top is the design of before the option: same digest.
            for name in ("interface", "data_port_bits", "read_latency"):
                del values[name]
        return values

    @property
    def digest(self):
        """A short hash of every parameter: names build folders and is written in manifests."""
        text = json.dumps(self.as_dict(), sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
