"""Command line of the generator.

``python -m gen --rows 64 --cols 64 [-o DIR]`` writes ``<name>.v``, ``<name>.f`` (the file
list) and ``manifest.json``. Bad arguments exit with status 2 and one line on stderr, and write
nothing. ``--synth TARGET [--pnr]`` then synthesizes the design (``gen/synth.py``), writes
``DIR/synth/report.json`` and prints the report; a tool failure exits with status 1 and one
line on stderr.
"""

import argparse
import dataclasses
import os
import re
import sys
import time

from rtl.config import AccelConfig, ConfigError, PE_TYPES, WEIGHT_FORMATS

from .emit import generate
from . import synth


__all__ = ["main", "parse_config"]

PROG = "python -m gen"


class UsageError(Exception):
    """A one-line user error; exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(message)


def _integer(text):
    try:
        return int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, not {text!r}") from None


def _parser():
    parser = _Parser(prog=PROG, description="Generate the Verilog of a ternary systolic-array "
                     "accelerator for BitNet b1.58 and its manifest.")
    defaults = AccelConfig()
    parser.add_argument("--rows", type=_integer, default=defaults.rows,
                        help="array rows: the K extent of a weight tile, 1..256 (default %(default)s)")
    parser.add_argument("--cols", type=_integer, default=defaults.cols,
                        help="array columns: the N extent of a weight tile, 1..256 "
                             "(default %(default)s)")
    parser.add_argument("--act-bits", type=_integer, default=defaults.act_bits,
                        help="signed activation width (default %(default)s)")
    parser.add_argument("--acc-bits", type=_integer, default=defaults.acc_bits,
                        help="signed accumulator/result width (default %(default)s)")
    parser.add_argument("--weight-format", choices=(*WEIGHT_FORMATS, "int8"), default=None,
                        help="packed weights: i2 = 2 bits/weight, t5 = 1.6 bits/weight "
                             "(default i2); int8 = one byte per weight, only with --pe int8 "
                             "(and its default there)")
    parser.add_argument("--wmem-depth", type=_integer, default=None,
                        help="weight SRAM words, at least 2*rows (default: 2*rows rounded up to "
                             "a power of two, at least 32)")
    parser.add_argument("--max-m", type=_integer, default=defaults.max_m,
                        help="largest M of one job = accumulator depth (default %(default)s)")
    parser.add_argument("--max-k", type=_integer, default=defaults.max_k,
                        help="largest K of one job (default %(default)s)")
    parser.add_argument("--max-n", type=_integer, default=defaults.max_n,
                        help="largest N of one job (default %(default)s)")
    parser.add_argument("--name", default=defaults.name,
                        help="top-level module name (default %(default)s)")
    parser.add_argument("--pe", choices=PE_TYPES, default=defaults.pe,
                        help="processing element: ternary, or int8 for the conventional "
                             "int8 x int8 multiply-accumulate baseline (default %(default)s)")
    parser.add_argument("-o", "--output", default="build",
                        help="output folder (default %(default)s)")
    group = parser.add_argument_group("synthesis (needs the synth extra: pip install -e "
                                      "\".[synth]\"; see docs/synthesis.md)")
    group.add_argument("--synth", choices=synth.TARGETS, metavar="TARGET",
                       help="also synthesize with yosys for TARGET (ecp5, ice40, xilinx or "
                            "generic), write OUTPUT/synth/report.json and print the report")
    group.add_argument("--pnr", action="store_true",
                       help="also place and route with nextpnr (ecp5: out of context; ice40: "
                            "with pins, small arrays only) and report Fmax")
    group.add_argument("--device", default=None,
                       help="nextpnr device (default LFE5U-85F-8CABGA381 for ecp5, "
                            "iCE40HX8K-CT256 for ice40)")
    group.add_argument("--freq", type=_number, default=None,
                       help="nextpnr target frequency in MHz (default 150)")
    group.add_argument("--no-dsp", action="store_true",
                       help="forbid DSP blocks in the design's synthesis (-nodsp; the int8 "
                            "baseline's multipliers then go to LUTs)")
    group.add_argument("--no-breakdown", action="store_true",
                       help="synthesize only the design: no array, per-PE and int8 "
                            "comparison runs")
    group.add_argument("--synth-timeout", type=_number, default=None,
                       help="seconds allowed to each tool run before it is stopped "
                            "(default 3600)")
    return parser


def _number(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, not {text!r}")
    return value


def _parse(argv):
    """``(AccelConfig, arguments)``; raises ``UsageError``."""
    args = _parser().parse_args(argv)
    try:
        config = AccelConfig(rows=args.rows, cols=args.cols, act_bits=args.act_bits,
                             acc_bits=args.acc_bits, weight_format=args.weight_format,
                             wmem_depth=args.wmem_depth, max_m=args.max_m, max_k=args.max_k,
                             max_n=args.max_n, name=args.name, pe=args.pe)
    except ConfigError as error:
        # Name the command-line options rather than the Python fields.
        message = str(error)
        for field in dataclasses.fields(AccelConfig):
            message = re.sub(rf"\b{field.name}(?= must|=)", f"--{field.name.replace('_', '-')}", message)
        raise UsageError(message) from None
    _check_synth_arguments(args)
    return config, args


def _check_synth_arguments(args):
    if args.synth is None:
        for option, given in (("--pnr", args.pnr), ("--device", args.device is not None),
                              ("--freq", args.freq is not None),
                              ("--no-breakdown", args.no_breakdown),
                              ("--no-dsp", args.no_dsp),
                              ("--synth-timeout", args.synth_timeout is not None)):
            if given:
                raise UsageError(f"{option} needs --synth TARGET")
        return
    if args.freq is not None and not args.pnr:
        raise UsageError("--freq needs --pnr")
    if args.pnr and args.synth not in synth.PNR_TARGETS:
        raise UsageError(f"--pnr needs --synth ecp5 or ice40 (nextpnr), not {args.synth}")
    if args.device is not None:
        if not args.pnr:
            raise UsageError("--device needs --pnr")
        devices = synth.DEVICES[args.synth]
        if args.device not in devices:
            raise UsageError(f"--device for {args.synth} must be one of "
                             f"{', '.join(sorted(devices))}, not {args.device!r}")


def parse_config(argv):
    """``(AccelConfig, output folder)`` from command-line arguments; raises ``UsageError``."""
    config, args = _parse(argv)
    return config, args.output


def _check_writable(folder):
    """Raise ``UsageError`` unless ``folder`` exists as a writable folder or can be created."""
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise UsageError(f"output {folder!r} exists and is not a folder")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(f"output folder {folder!r} is not writable")
        return
    parent = os.path.dirname(os.path.abspath(folder))
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.path.isdir(parent):
        raise UsageError(f"cannot create output folder {folder!r}: {parent!r} is not a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot create output folder {folder!r}: {parent!r} is not writable")


def write_outputs(folder, files):
    """Write ``files`` into ``folder`` all or nothing: each through a temporary file and a
    rename; on failure, every file written so far (and a folder created here) is removed."""
    created = not os.path.exists(folder)
    written = []
    try:
        os.makedirs(folder, exist_ok=True)
        staged = []
        for name, text in files.items():
            temporary = os.path.join(folder, f".{name}.partial")
            staged.append((temporary, os.path.join(folder, name)))
            with open(temporary, "w", encoding="ascii", newline="\n") as handle:
                handle.write(text)
        for temporary, final in staged:
            os.replace(temporary, final)
            written.append(final)
    except OSError as error:
        for temporary, final in locals().get("staged", []):
            for path in (temporary, final if final in written else None):
                if path and os.path.exists(path):
                    os.remove(path)
        if created and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
        raise UsageError(f"cannot write to {folder!r}: {error.strerror or error}") from None


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        config, args = _parse(argv)
        folder = args.output
        _check_writable(folder)
        began = time.perf_counter()
        files = generate(config)
        write_outputs(folder, files)
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - began
    verilog_name = f"{config.name}.v"
    size = len(files[verilog_name])
    kind = config.format.name if config.pe == "ternary" else "int8-baseline"
    print(f"{config.rows}x{config.cols} {kind} array ({config.pe_count} PEs): "
          f"wrote {os.path.join(folder, verilog_name)} ({size / 1024:.0f} KiB) and "
          f"{os.path.join(folder, 'manifest.json')} in {elapsed:.1f} s", flush=True)
    if args.synth is None:
        return 0
    synth_folder = os.path.join(folder, "synth")
    try:
        report = synth.synthesize(config, args.synth, synth_folder, pnr=args.pnr,
                                  device=args.device, freq_mhz=args.freq or 150.0,
                                  dsp=not args.no_dsp, breakdown=not args.no_breakdown,
                                  timeout=args.synth_timeout or 3600.0,
                                  verilog=files[verilog_name])
    except synth.SynthError as error:
        print(f"{PROG}: synthesis failed: {error}", file=sys.stderr)
        return 1
    print(synth.format_report(report))
    print(f"wrote {os.path.join(synth_folder, 'report.json')}")
    return 0
