"""Energy of an :class:`~gen.explore.activity.Activity`: its counts times the per-operation
energies of a cited table (:mod:`gen.explore.energy_tables`), split into arithmetic, on-chip
memory and DRAM. Estimates, not measurements (``docs/energy.md``).

    python -m gen.explore.energy [--rows 64] [--cols 64] [--weight-format i2]
        [--weight-port-bits 1024] [--context 1024] [--batch 1] [--nonzero-fraction F]
        [--head-bits 16] [--table horowitz-45nm bitnet-7nm]

prints, for one decode step of BitNet b1.58 2B-4T on that design, the joules per token of the
ternary PE, the int8 PE and the FP16 reference with each table, and the FP16-to-ternary
ratios with arithmetic alone, then with on-chip memory, then with DRAM.

Pricing (``pe`` is the activity's):

* arithmetic: ternary, ``nonzero_adds`` INT8 adds (a zero weight adds nothing: its operand
  is gated to zero); int8, an INT8 multiply and an INT8 add per PE slot (``macs``, zero
  weights included); FP16, an FP16 multiply and an FP16 add per slot. Accumulator adds: INT32
  adds (FP16 adds for FP16). The PE's adder is 9 to 15 bits wide at 64 rows and is charged
  as an INT8 add, as the seed paper counts it.
* on-chip: register bits at ``register_bit``; SRAM bits (reads and writes alike) at
  :meth:`~gen.explore.energy_tables.EnergyTable.sram_pj_per_bit` of the memory's capacity
  (one weight-store bank, the accumulator, the result queue).
* DRAM: every DRAM bit at the table's 64-bit access over 64.

Static (leakage) power, clock distribution beyond the registers' own bit, control logic,
wires between blocks and the host are not counted.
"""

from dataclasses import dataclass
import numbers
import sys

from golden.cli import OneLineParser, UsageError, field_usage_error, integer_range, run_cli
from golden.config import BitNetConfig
from golden.synthetic import BITNET_2B_4T_CONFIG
from rtl.config import AccelConfig, ConfigError, WEIGHT_FORMATS

from .activity import Activity, GAUSSIAN_NONZERO_FRACTION, PES, decode_activity, gemm_activity
from .energy_tables import TABLES, energy_table


__all__ = ["EnergySplit", "energy", "KV260_REFERENCE", "main"]

PROG = "python -m gen.explore.energy"

_PJ = 1e-12

#: bitnet-kv260's board measurement of 2B-4T decode (issue 16, ``docs/performance.md``).
KV260_REFERENCE = {
    "joules_per_token": 0.381,
    "watts": 6.2,
    "tokens_per_s": 16.78,
    "includes": "the whole KV260 board at the wall of its supply: the Zynq UltraScale+ "
                "programmable logic and its Arm cores, the 4 GB DDR4 and its controller, "
                "the board's regulators and peripherals, static power included; the whole "
                "model (head, attention, norms, sampling)",
}


@dataclass(frozen=True)
class EnergySplit:
    """Joules of an activity, by kind.

    Members
    -------
    arithmetic_j, on_chip_j, dram_j : float
        The three parts; :attr:`total_j` is their sum.
    detail : tuple of (str, float)
        Each part's items (``"PE adds"``, ``"weight SRAM"``, ``"DRAM weights"`` ...), joules.

    ``split / n`` divides every figure by ``n`` (joules per token of a batch of ``n``).
    """

    arithmetic_j: float
    on_chip_j: float
    dram_j: float
    detail: tuple

    @property
    def total_j(self):
        return self.arithmetic_j + self.on_chip_j + self.dram_j

    def __truediv__(self, count):
        if isinstance(count, bool) or not isinstance(count, numbers.Real) or count <= 0:
            raise ValueError(f"an energy can be divided by a positive number, not {count!r}")
        return EnergySplit(self.arithmetic_j / count, self.on_chip_j / count,
                           self.dram_j / count,
                           tuple((name, joules / count) for name, joules in self.detail))


def energy(activity, table):
    """The :class:`EnergySplit` of ``activity`` priced with ``table`` (a name of
    :data:`~gen.explore.energy_tables.TABLES` or an
    :class:`~gen.explore.energy_tables.EnergyTable`); module docstring for the pricing.

    Raises
    ------
    TypeError
        ``"activity must be an Activity, not dict"``; the table's (``"table must be
        'horowitz-45nm' or 'bitnet-7nm', not 3"``).
    ValueError
        ``"table must be 'horowitz-45nm' or 'bitnet-7nm', not 'x'"``.
    """
    if not isinstance(activity, Activity):
        raise TypeError(f"activity must be an Activity, not {type(activity).__name__}")
    t = energy_table(table)
    a = activity
    if a.pe == "ternary":
        pe_label, pe_pj = "PE adds", a.nonzero_adds * t.int8_add.pj
        acc_pj = a.accumulator_adds * t.int32_add.pj
    elif a.pe == "int8":
        pe_label, pe_pj = "PE multiply-adds", a.macs * (t.int8_mul.pj + t.int8_add.pj)
        acc_pj = a.accumulator_adds * t.int32_add.pj
    else:
        pe_label, pe_pj = "PE multiply-adds", a.macs * (t.fp16_mul.pj + t.fp16_add.pj)
        acc_pj = a.accumulator_adds * t.fp16_add.pj
    memories = a.memories
    arithmetic = [(pe_label, pe_pj), ("accumulator adds", acc_pj)]
    on_chip = [
        ("registers", a.register_bits * t.register_bit.pj),
        ("weight SRAM", (a.weight_sram_read_bits + a.weight_sram_write_bits)
         * t.sram_pj_per_bit(memories.weight_bank)),
        ("accumulator SRAM", (a.accumulator_read_bits + a.accumulator_write_bits)
         * t.sram_pj_per_bit(memories.accumulator)),
        ("result queue SRAM", (a.result_queue_write_bits + a.result_queue_read_bits)
         * t.sram_pj_per_bit(memories.result_queue)),
    ]
    dram_bit = t.dram_pj_per_bit
    dram = [("DRAM weights", a.dram_weight_bits * dram_bit),
            ("DRAM activations", a.dram_activation_bits * dram_bit),
            ("DRAM results", a.dram_result_bits * dram_bit),
            ("DRAM KV cache", a.dram_kv_bits * dram_bit),
            ("DRAM head", a.dram_head_bits * dram_bit)]
    parts = [[(name, pj * _PJ) for name, pj in group] for group in (arithmetic, on_chip, dram)]
    return EnergySplit(*(sum(j for _, j in group) for group in parts),
                       detail=tuple(item for group in parts for item in group))


# -- the command line -------------------------------------------------------------------------

def _fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"argument --nonzero-fraction: expected a number from 0 to 1, "
                         f"not {text!r}") from None
    if not 0 <= value <= 1:
        raise UsageError(f"argument --nonzero-fraction: expected a number from 0 to 1, "
                         f"not {text!r}")
    return value


def _parser():
    parser = OneLineParser(prog=PROG, description="Energy per decoded 2B-4T token: ternary, "
                           "int8 and FP16 PEs, each cited table (docs/energy.md).")
    parser.add_argument("--rows", type=integer_range(1, 256), default=64)
    parser.add_argument("--cols", type=integer_range(1, 256), default=64)
    parser.add_argument("--weight-format", choices=WEIGHT_FORMATS, default="i2")
    parser.add_argument("--weight-port-bits", type=integer_range(1), default=1024)
    parser.add_argument("--context", type=integer_range(1), default=1024,
                        help="positions the token attends to (its KV-cache reads)")
    parser.add_argument("--batch", type=integer_range(1, 65536), default=1)
    parser.add_argument("--nonzero-fraction", default=None,
                        help=f"share of nonzero weights (default {GAUSSIAN_NONZERO_FRACTION:.4f}"
                             f", absmean ternarization of Gaussian weights)")
    parser.add_argument("--head-bits", type=integer_range(0, 64), default=16,
                        help="bits of an output-head weight read per step; 0 leaves it out")
    parser.add_argument("--table", nargs="+", choices=list(TABLES), default=list(TABLES))
    return parser


def _joules(value):
    return f"{value * 1e3:.3f}"


def _report(accel, model, args):
    fraction = None if args.nonzero_fraction is None else _fraction(args.nonzero_fraction)
    lines = [f"BitNet b1.58 2B-4T decode, {accel.rows}x{accel.cols} {accel.format.name} array, "
             f"W = {accel.word_bits}, batch {args.batch}, context {args.context}, nonzero "
             f"weights {GAUSSIAN_NONZERO_FRACTION if fraction is None else fraction:.4f}, "
             f"head {args.head_bits} bits per weight; mJ per token", ""]
    for pe in PES:      # every PE's design first: a refused one costs no computation
        try:
            gemm_activity(accel, 1, 1, 1, pe=pe)
        except ValueError as error:
            raise UsageError(str(error)) from None
    activities = {}
    for pe in PES:
        try:
            activities[pe] = decode_activity(accel, model, context=args.context,
                                             batch=args.batch, pe=pe,
                                             nonzero_fraction=fraction,
                                             head_value_bits=args.head_bits)
        except ValueError as error:
            raise UsageError(str(error)) from None
    lines += ["| table | PE | cycles per step | arithmetic | on-chip | DRAM | total | "
              "DRAM without head and KV |", "|---|---|---|---|---|---|---|---|"]
    splits = {}
    for name in args.table:
        for pe, activity in activities.items():
            split = energy(activity, name) / args.batch
            splits[name, pe] = split
            detail = dict(split.detail)
            array_dram = split.dram_j - detail["DRAM KV cache"] - detail["DRAM head"]
            lines.append(f"| {name} | {pe} | {activity.cycles:,} | "
                         f"{_joules(split.arithmetic_j)} | {_joules(split.on_chip_j)} | "
                         f"{_joules(split.dram_j)} | {_joules(split.total_j)} | "
                         f"{_joules(array_dram)} |")
    lines += ["", "| table | versus | arithmetic only | + on-chip | + DRAM of the array's "
              "streams | + KV cache and head |", "|---|---|---|---|---|---|"]
    for name in args.table:
        ternary = splits[name, "ternary"]
        for other in ("fp16", "int8"):
            split = splits[name, other]
            ratios = [_ratio(split, ternary, level) for level in range(4)]
            lines.append(f"| {name} | {other} / ternary | " + " | ".join(
                f"{ratio:.2f}x" for ratio in ratios) + " |")
    lines += ["", "Detail (mJ per token):", "",
              "| table | PE | " + " | ".join(item for item, _ in
                                             splits[args.table[0], "ternary"].detail) + " |",
              "|---|---|" + "---|" * len(splits[args.table[0], "ternary"].detail)]
    for (name, pe), split in splits.items():
        lines.append(f"| {name} | {pe} | " + " | ".join(
            f"{joules * 1e3:.4f}" for _, joules in split.detail) + " |")
    return "\n".join(lines)


def _ratio(split, ternary, level):
    """Level 0 arithmetic; 1 + on-chip; 2 + the array's DRAM streams; 3 + KV and head."""
    def part(s):
        detail = dict(s.detail)
        host = detail["DRAM KV cache"] + detail["DRAM head"]
        return (s.arithmetic_j, s.arithmetic_j + s.on_chip_j,
                s.arithmetic_j + s.on_chip_j + s.dram_j - host, s.total_j)[level]
    return part(split) / part(ternary)


def _run(argv):
    args = _parser().parse_args(argv)
    try:
        accel = AccelConfig(rows=args.rows, cols=args.cols, weight_format=args.weight_format,
                            weight_port_bits=args.weight_port_bits)
    except ConfigError as error:
        raise field_usage_error(error) from None
    model = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
    text = _report(accel, model, args)
    print(text)


def main(argv=None):
    """The command line (module docstring); returns the exit status."""
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
