"""Synthesis scaling study: resources and tool times per array size and target.

    python benchmarks/synthesis_scaling.py [--sizes 4 8 16 32 64] [--targets ecp5 xilinx]
        [--timeout 3600] [--json results.json] [--plot docs/synthesis_scaling.png]
        [--no-verilator] [--replot results.json]

For every square array size: the generation time (``gen.emit.generate``, in this process),
the Verilator build time of the top level (the cocotb bench's build, nothing cached, as
``benchmarks/verilator_build.py``), and for every target one yosys synthesis of the whole
design (``gen.synth.synthesize`` without the per-PE breakdown): LUTs, flip-flops, carry cells,
block RAMs, LUT RAM, DSPs and the synthesis wall time. Prints a Markdown table as it goes,
writes every figure to ``--json`` and, with matplotlib installed, a PNG plot.

A size whose synthesis exceeds ``--timeout`` seconds is recorded as such and larger sizes are
skipped for that target. Needs the synth extra (``pip install -e ".[synth]"``); the plot needs
matplotlib. This is a benchmark, not a test: it took about 25 minutes up to 64x64 on two cores.
"""

import argparse
import json
import pathlib
import sys
import tempfile
import time

from gen.emit import emit_verilog, generate
from gen.synth import DEFAULT_TIMEOUT_S, SynthError, synthesize
from rtl.config import AccelConfig


COLUMNS = ("luts", "lut_equivalents", "ffs", "carry", "brams", "lutram", "dsps")


def _verilator_seconds(config):
    from cosim.build import build_design
    with tempfile.TemporaryDirectory() as folder:
        verilog = emit_verilog(config)
        began = time.perf_counter()
        build_design("bench", config.digest, verilog, config.name, root=folder)
        return time.perf_counter() - began


def _plot(results, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no plot written to {path}", file=sys.stderr)
        return
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for target in sorted({row["target"] for row in results["synthesis"]}):
        rows = [row for row in results["synthesis"]
                if row["target"] == target and row.get("luts") is not None]
        pes = [row["pe_count"] for row in rows]
        left.plot(pes, [row["luts"] for row in rows], "o-", label=f"{target} LUTs")
        left.plot(pes, [row["ffs"] for row in rows], "s--", label=f"{target} flip-flops")
        right.plot(pes, [row["synth_seconds"] for row in rows], "o-",
                   label=f"{target} synthesis")
    generation = results["generation"]
    right.plot([row["pe_count"] for row in generation],
               [row["seconds"] for row in generation], "^-", label="generation")
    verilator = [row for row in results["verilator"] if row.get("seconds") is not None]
    if verilator:
        right.plot([row["pe_count"] for row in verilator],
                   [row["seconds"] for row in verilator], "v-", label="Verilator build")
    for axis, title, unit in ((left, "resources", "cells"), (right, "tool time", "seconds")):
        axis.set_xscale("log", base=2)
        axis.set_yscale("log")
        axis.set_xlabel("PEs (rows x cols)")
        axis.set_ylabel(unit)
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle("ternary-accel: synthesis scaling (yosys, whole design)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    print(f"wrote {path}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16, 32, 64])
    parser.add_argument("--targets", nargs="+", default=["ecp5", "xilinx"])
    parser.add_argument("--pe", default="ternary", choices=["ternary", "int8"])
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S,
                        help="seconds allowed to one synthesis (default %(default)g)")
    parser.add_argument("--work", default="build/synthesis_scaling",
                        help="folder for the synthesis runs (default %(default)s)")
    parser.add_argument("--json", default=None, help="write every figure to this file")
    parser.add_argument("--plot", default=None, help="write a PNG plot to this file")
    parser.add_argument("--no-verilator", action="store_true")
    parser.add_argument("--replot", default=None, metavar="JSON",
                        help="only draw --plot from the figures of an earlier --json run")
    args = parser.parse_args()
    if args.replot:
        _plot(json.loads(pathlib.Path(args.replot).read_text()), args.plot or "scaling.png")
        return

    results = {"generation": [], "verilator": [], "synthesis": []}

    def save():
        if args.json:
            pathlib.Path(args.json).write_text(json.dumps(results, indent=2) + "\n")

    print("| array | target | LUTs | LUT4 eq. | FFs | carry | BRAM | LUT RAM/SRL | DSPs "
          "| generation | synthesis | Verilator build |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    stopped = set()
    for size in args.sizes:
        config = AccelConfig(rows=size, cols=size, pe=args.pe)
        began = time.perf_counter()
        verilog = generate(config)[f"{config.name}.v"]
        generation = time.perf_counter() - began
        results["generation"].append({"size": size, "pe_count": config.pe_count,
                                      "seconds": round(generation, 2)})
        verilator = None
        if not args.no_verilator:
            verilator = round(_verilator_seconds(config), 1)
        results["verilator"].append({"size": size, "pe_count": config.pe_count,
                                     "seconds": verilator})
        save()
        for target in args.targets:
            row = {"size": size, "pe_count": config.pe_count, "target": target}
            if target in stopped:
                row["skipped"] = "a smaller size exceeded the timeout"
                results["synthesis"].append(row)
                continue
            folder = pathlib.Path(args.work) / f"{target}-{size}x{size}-{args.pe}"
            try:
                report = synthesize(config, target, folder, breakdown=False,
                                    timeout=args.timeout, verilog=verilog)
            except SynthError as error:
                row["error"] = str(error)
                stopped.add(target)
                results["synthesis"].append(row)
                save()
                print(f"| {size}x{size} | {target} | {str(error)[:80]} |", flush=True)
                continue
            row.update({key: report[key] for key in COLUMNS})
            row["synth_seconds"] = report["synth_seconds"]
            row["weight_store"] = report["weight_store"]["cells"]
            results["synthesis"].append(row)
            save()
            lut_eq = row["lut_equivalents"] if target == "ecp5" else "-"
            vtime = f"{verilator:.0f} s" if verilator is not None else "-"
            print(f"| {size}x{size} | {target} | {row['luts']} | {lut_eq} | {row['ffs']} "
                  f"| {row['carry']} | {row['brams']} | {row['lutram']} | {row['dsps']} "
                  f"| {generation:.1f} s | {row['synth_seconds']:.0f} s | {vtime} |",
                  flush=True)
    if args.plot:
        _plot(results, args.plot)


if __name__ == "__main__":
    main()
