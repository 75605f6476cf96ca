"""What the wide weight port costs: resources of the design and of its weight path against the
port width W, beside the array's own.

    python benchmarks/weight_port_cost.py [--size 16] [--formats i2 t5]
        [--rows-per-beat 1 2 4 8 16] [--target ecp5] [--modules-only] [--pnr] [--freq MHZ]
        [--timeout S] [--work build/weight_port_cost] [--json results.json]

For a square ``size`` x ``size`` array, every format and every ``k`` rows per beat (W = the
format's word of ``k`` tile rows, ``AccelConfig.legal_weight_port_bits[k - 1]``), yosys
synthesizes (``gen.synth``; all runs with the flow's options, DSPs allowed, none used):

* the whole design (``synthesize`` without the breakdown; skipped with ``--modules-only``,
  for sizes whose whole synthesis takes too long); with ``--pnr`` also placed and routed
  (ECP5 out of context, ``--freq``) for its Fmax and critical path;
* the weight store alone (``<name>.store``: the decoder over ``k * cols`` lanes, the beat
  register, the ``rows`` banks, their read registers, the slot and tile control) and its
  decoder alone (``<name>.store.decoder``), with ``synthesize_module``;
* the array alone (``<name>.array``), once per size: it does not depend on W or the format.

Reports LUTs, LUT4 equivalents (ECP5: LUT4 + 2 per CCU2C), flip-flops, block RAMs and LUT RAM
cells (ECP5 ``TRELLIS_DPR16X4``, 16 words x 4 bits), and the weight store against the array:
its whole count, and what W adds over one row per beat (the smallest ``k`` measured). On
ECP5 the store's "area" LUT4 equivalents also count each ``TRELLIS_DPR16X4`` as the six LUT4
positions of the three slices it occupies (two storage slices and the write-port slice).

Prints Markdown tables as it goes and writes every figure to ``--json``. Needs the synth extra
(``pip install -e ".[synth]"``). A benchmark, not a test: the default set at 16x16 took about
50 minutes on the shared two-core machine (6 with ``--modules-only``); the 64x64 array alone
took 34 minutes, which is why ``--modules-only`` exists (docs/synthesis.md, "The wide weight
port").
"""

import argparse
import json
import pathlib
import sys

from gen.emit import emit_verilog
from gen.synth import DEFAULT_FREQ_MHZ, DEFAULT_TIMEOUT_S, synthesize, synthesize_module
from golden.cli import OneLineParser, UsageError, integer_range, positive_number, run_cli
from rtl.config import AccelConfig


#: LUT4 positions of the three slices an ECP5 TRELLIS_DPR16X4 occupies.
DPR16X4_LUT4 = 6

KEYS = ("luts", "lut_equivalents", "ffs", "carry", "brams", "lutram")


def area(counts, target):
    """LUT4 equivalents with LUT RAM counted (ECP5; elsewhere the plain count)."""
    extra = DPR16X4_LUT4 * counts["lutram"] if target == "ecp5" else 0
    return counts["lut_equivalents"] + extra


def share(part, whole):
    return round(part / whole, 3) if whole else None


def measure(size, fmt, k, args, verilog_cache):
    """One configuration: the design (unless ``--modules-only``), the store, the decoder."""
    base = AccelConfig(rows=size, cols=size, weight_format=fmt)
    config = AccelConfig(rows=size, cols=size, weight_format=fmt,
                         weight_port_bits=base.legal_weight_port_bits[k - 1])
    folder = pathlib.Path(args.work) / f"{args.target}-{size}x{size}-{fmt}-k{k}"
    verilog = emit_verilog(config)
    verilog_cache.setdefault("array", verilog)
    row = {"size": size, "format": fmt, "rows_per_beat": k, "weight_port_bits": config.word_bits,
           "bits_per_weight": config.beat_bits_per_weight,
           "store_tiles": config.weight_store_tiles,
           "store_bits": config.rows * config.weight_store_tiles * config.cols * 2}
    if not args.modules_only:
        report = synthesize(config, args.target, folder / "design", breakdown=False,
                            pnr=args.pnr, freq_mhz=args.freq, timeout=args.timeout,
                            verilog=verilog)
        row["design"] = {key: report[key] for key in KEYS}
        row["design"]["synth_seconds"] = report["synth_seconds"]
        row["weight_store"] = report["weight_store"]
        if report["pnr"]:
            row["pnr"] = {key: report["pnr"][key] for key in
                          ("fmax_mhz", "target_mhz", "critical_path", "utilization", "seconds")}
    for part, module in (("store", f"{config.name}.store"),
                         ("decoder", f"{config.name}.store.decoder")):
        result = synthesize_module(verilog, module, args.target, folder / part,
                                   timeout=args.timeout)
        row[part] = {key: result[key] for key in (*KEYS, "synth_seconds")}
    return row


PROG = "benchmarks/weight_port_cost.py"


def main(argv=None):
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG,
                           description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=integer_range(2, 64), default=16,
                        help="rows and columns of the array (default %(default)s)")
    parser.add_argument("--formats", nargs="+", choices=["i2", "t5"], default=["i2", "t5"])
    parser.add_argument("--rows-per-beat", type=integer_range(1), nargs="+",
                        default=[1, 2, 4, 8, 16], help="k values (default %(default)s)")
    parser.add_argument("--target", choices=["ecp5", "xilinx", "ice40", "generic"],
                        default="ecp5")
    parser.add_argument("--modules-only", action="store_true",
                        help="only the weight store, its decoder and the array, not the design")
    parser.add_argument("--pnr", action="store_true", help="also place and route each design")
    parser.add_argument("--freq", type=positive_number, default=DEFAULT_FREQ_MHZ)
    parser.add_argument("--timeout", type=positive_number,
                        default=DEFAULT_TIMEOUT_S)
    parser.add_argument("--work", default="build/weight_port_cost")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    args = parser.parse_args(argv)
    if any(k > args.size for k in args.rows_per_beat):
        raise UsageError(f"--rows-per-beat must be at most --size={args.size}")
    if args.pnr and args.modules_only:
        raise UsageError("--pnr needs the design: drop --modules-only")
    if args.pnr and args.target != "ecp5":
        raise UsageError("--pnr is measured on ecp5 only here")

    results = {"size": args.size, "target": args.target, "rows": []}

    def save():
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")

    print(f"| format | k | W | b/w | design LUTs | LUT4 eq. | FFs | BRAM | LUT RAM | store LUTs "
          f"| store LUT4 eq. (area) | store FFs | store BRAM | store LUT RAM | decoder LUTs "
          f"|{' Fmax |' if args.pnr else ''}")
    print("|---" * (15 + args.pnr) + "|", flush=True)
    cache = {}
    for fmt in args.formats:
        for k in sorted(set(args.rows_per_beat)):
            row = measure(args.size, fmt, k, args, cache)
            results["rows"].append(row)
            save()
            design = row.get("design") or {key: "-" for key in KEYS}
            store = row["store"]
            fmax = f" {row['pnr']['fmax_mhz']:.1f} MHz |" if "pnr" in row else ""
            print(f"| {fmt} | {k} | {row['weight_port_bits']} | {row['bits_per_weight']:g} "
                  f"| {design['luts']} | {design['lut_equivalents']} | {design['ffs']} "
                  f"| {design['brams']} | {design['lutram']} | {store['luts']} "
                  f"| {store['lut_equivalents']} ({area(store, args.target)}) | {store['ffs']} "
                  f"| {store['brams']} | {store['lutram']} | {row['decoder']['luts']} |{fmax}",
                  flush=True)

    # The array alone, once: the same for every W and format.
    name = AccelConfig(rows=args.size, cols=args.size).name
    array = synthesize_module(cache["array"], f"{name}.array", args.target,
                              pathlib.Path(args.work) / f"{args.target}-{args.size}x{args.size}"
                                                        f"-array", timeout=args.timeout)
    results["array"] = {key: array[key] for key in (*KEYS, "synth_seconds")}
    save()
    print(f"\narray alone ({args.size}x{args.size}): {array['luts']} LUTs, "
          f"{array['lut_equivalents']} LUT4 eq., {array['ffs']} FFs, {array['synth_seconds']} s")
    print("\n| format | k | W | store / array: LUT4 eq. (area) | FFs | added over the "
          "smallest k: LUT4 eq. (area) | FFs |")
    print("|---|---|---|---|---|---|---|")
    for fmt in args.formats:
        rows = [row for row in results["rows"] if row["format"] == fmt]
        first = rows[0]["store"]
        for row in rows:
            store = row["store"]
            row["vs_array"] = {
                "lut_equivalents": share(store["lut_equivalents"], array["lut_equivalents"]),
                "area": share(area(store, args.target), array["lut_equivalents"]),
                "ffs": share(store["ffs"], array["ffs"]),
                "added_area": share(area(store, args.target) - area(first, args.target),
                                    array["lut_equivalents"]),
                "added_ffs": share(store["ffs"] - first["ffs"], array["ffs"]),
            }
            share_ = row["vs_array"]
            print(f"| {fmt} | {row['rows_per_beat']} | {row['weight_port_bits']} "
                  f"| {share_['lut_equivalents']} ({share_['area']}) | {share_['ffs']} "
                  f"| {share_['added_area']} | {share_['added_ffs']} |", flush=True)
    save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
