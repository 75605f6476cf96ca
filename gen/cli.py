"""Command line of the generator.

``python -m gen --rows 64 --cols 64 [-o DIR]`` writes ``<name>.v``, ``<name>.f`` (the file
list) and ``manifest.json``. Bad arguments exit with status 2 and one line on stderr, and write
nothing (the one-line pattern of :mod:`golden.cli`). ``--synth TARGET [--pnr]`` then
synthesizes the design (:mod:`gen.synth`), writes ``DIR/synth/report.json`` and prints the
report; a tool failure exits with status 1 and one line on stderr. ``python -m gen explore
...`` is the design-space sweep (:mod:`gen.explore.cli`, ``docs/explore.md``).

Every default and range in the help comes from where it is defined: :class:`AccelConfig` and
the limits in :mod:`rtl.config`, and :mod:`gen.synth.targets` for synthesis.
"""

import os
import sys
import time

from golden.cli import (OneLineParser, UsageError, check_output_folder, field_usage_error, integer,
                        positive_number, run_cli)
from rtl.config import (AccelConfig, ConfigError, MAX_ACC_BITS, MAX_ACC_DEPTH, MAX_ACT_BITS,
                        MAX_ARRAY_DIM, MAX_K_LIMIT, MAX_WMEM_TILES, MIN_WMEM_TILES, PE_TYPES,
                        WEIGHT_FORMATS)
from rtl.interface import INTERFACES

from .emit import generate
from . import synth


__all__ = ["PROG", "build_parser", "parse_config", "write_outputs", "main"]

PROG = "python -m gen"


def build_parser():
    """The argument parser: every option with its default and range in its help line."""
    parser = OneLineParser(prog=PROG, description="Generate the Verilog of a ternary "
                           "systolic-array accelerator for BitNet b1.58, its file list and "
                           "its manifest. (python -m gen explore --help: the "
                           "design-space sweep.)")
    defaults = AccelConfig()
    formats = " or ".join(WEIGHT_FORMATS)
    parser.add_argument("--rows", type=integer, default=defaults.rows,
                        help=f"array rows: the K extent of a weight tile, 1 to {MAX_ARRAY_DIM} "
                             f"(default %(default)s)")
    parser.add_argument("--cols", type=integer, default=defaults.cols,
                        help=f"array columns: the N extent of a weight tile, 1 to "
                             f"{MAX_ARRAY_DIM} (default %(default)s)")
    parser.add_argument("--act-bits", type=integer, default=defaults.act_bits,
                        help=f"signed activation width, 2 to {MAX_ACT_BITS} "
                             f"(default %(default)s)")
    parser.add_argument("--acc-bits", type=integer, default=defaults.acc_bits,
                        help=f"signed accumulator and result width, up to {MAX_ACC_BITS} and "
                             f"at least what --max-k needs to never overflow "
                             f"(default %(default)s)")
    parser.add_argument("--weight-format", choices=(*WEIGHT_FORMATS, "int8"), default=None,
                        help=f"packed weights: {formats}; i2 = 2 bits/weight, t5 = 1.6 "
                             f"bits/weight (default {defaults.format.name}); int8 = one byte "
                             f"per weight, only with --pe int8 (and its default there)")
    parser.add_argument("--weight-port-bits", type=integer, default=None, metavar="W",
                        help="width of the weights stream: the format's word of k whole tile "
                             "rows, k = 1 to rows (i2: 2*k*cols bits, t5: 8*ceil(k*cols/5)); "
                             "a wrong W is refused with the legal range (default: one row; "
                             "with --interface axi the widest power of two up to 1024)")
    parser.add_argument("--wmem-tiles", type=integer, default=None,
                        help=f"tile slots of the weight store (rows banks of cols weights), "
                             f"{MIN_WMEM_TILES} to {MAX_WMEM_TILES} (default: enough that "
                             f"the weights stream never waits, 2 + ceil((rows+1)/floor(rows/k)))")
    parser.add_argument("--max-m", type=integer, default=defaults.max_m,
                        help=f"largest M of one job = accumulator depth, 1 to {MAX_ACC_DEPTH} "
                             f"(default %(default)s)")
    parser.add_argument("--max-k", type=integer, default=defaults.max_k,
                        help=f"largest K of one job, 1 to {MAX_K_LIMIT} (default %(default)s)")
    parser.add_argument("--max-n", type=integer, default=defaults.max_n,
                        help=f"largest N of one job, 1 to {MAX_K_LIMIT} (default %(default)s)")
    parser.add_argument("--name", default=defaults.name,
                        help="top-level module name: a Verilog identifier that is no Verilog "
                             "or SystemVerilog keyword; other modules are prefixed with it "
                             "(default %(default)s)")
    parser.add_argument("--pe", choices=PE_TYPES, default=defaults.pe,
                        help=f"processing element: {' or '.join(PE_TYPES)}; int8 is the "
                             f"conventional int8 x int8 multiply-accumulate baseline "
                             f"(default %(default)s)")
    parser.add_argument("--result-lanes", type=integer, default=None,
                        help="result lanes per beat of the results stream, 1 to cols: a "
                             "result row leaves in ceil(cols/result-lanes) beats (default: "
                             "cols, one beat per row)")
    parser.add_argument("--interface", choices=INTERFACES, default=defaults.interface,
                        help="top level: stream (command and data streams) or axi (AXI4 "
                             "managers for weights, activations and results, AXI4-Lite "
                             "registers, irq; docs/interface.md) (default %(default)s)")
    parser.add_argument("--data-port-bits", type=integer, default=None, metavar="D",
                        help="--interface axi: width of the activation and result port, a "
                             "power of two from 32 to 1024 (default: the activation row "
                             "rounded up)")
    parser.add_argument("--read-latency", type=integer, default=None, metavar="CYCLES",
                        help="--interface axi: memory latency the read FIFOs cover at full "
                             "rate (default 100)")
    parser.add_argument("-o", "--output", default="build",
                        help="output folder, created if missing (default %(default)s)")
    group = parser.add_argument_group("synthesis (needs the synth extra: pip install -e "
                                      "\".[synth]\"; see docs/synthesis.md)")
    group.add_argument("--synth", choices=synth.TARGETS, metavar="TARGET",
                       help=f"also synthesize with yosys for TARGET "
                            f"({', '.join(synth.TARGETS)}), write OUTPUT/synth/report.json "
                            f"and print the report (default: no synthesis)")
    group.add_argument("--pnr", action="store_true",
                       help=f"also place and route with nextpnr ({' or '.join(synth.PNR_TARGETS)}; "
                            f"ecp5: out of context; ice40: with pins, small arrays only) and "
                            f"report Fmax (default: off)")
    devices = ", ".join(f"{device} for {target}"
                        for target, device in synth.DEFAULT_DEVICES.items())
    group.add_argument("--device", default=None,
                       help=f"nextpnr device, one of the target's (default {devices})")
    group.add_argument("--freq", type=positive_number, default=None, metavar="MHZ",
                       help=f"nextpnr target frequency in MHz, above 0 "
                            f"(default {synth.DEFAULT_FREQ_MHZ:g})")
    group.add_argument("--no-dsp", action="store_true",
                       help="forbid DSP blocks in every synthesis of the design, its array "
                            "and its PEs (-nodsp; the int8 baseline's multipliers then go to "
                            "LUTs) (default: DSPs allowed)")
    group.add_argument("--no-breakdown", action="store_true",
                       help="synthesize only the design: no array, per-PE and int8 "
                            "comparison runs (default: with them)")
    group.add_argument("--synth-timeout", type=positive_number, default=None, metavar="S",
                       help=f"seconds allowed to each tool run before it is stopped, above 0 "
                            f"(default {synth.DEFAULT_TIMEOUT_S:g})")
    return parser


def _config(args):
    """The :class:`AccelConfig` of the arguments; a refused field is reported under its
    option's name (``--max-k must be ...``)."""
    try:
        return AccelConfig(rows=args.rows, cols=args.cols, act_bits=args.act_bits,
                           acc_bits=args.acc_bits, weight_format=args.weight_format,
                           weight_port_bits=args.weight_port_bits,
                           wmem_tiles=args.wmem_tiles, max_m=args.max_m, max_k=args.max_k,
                           max_n=args.max_n, name=args.name, pe=args.pe,
                           result_lanes=args.result_lanes, interface=args.interface,
                           data_port_bits=args.data_port_bits,
                           read_latency=args.read_latency)
    except ConfigError as error:
        raise field_usage_error(error) from None


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
        raise UsageError(f"--pnr needs --synth {' or '.join(synth.PNR_TARGETS)} (nextpnr), "
                         f"not {args.synth}")
    if args.device is not None:
        if not args.pnr:
            raise UsageError("--device needs --pnr")
        devices = synth.DEVICES[args.synth]
        if args.device not in devices:
            raise UsageError(f"--device for {args.synth} must be one of "
                             f"{', '.join(sorted(devices))}, not {args.device!r}")


def _parse(argv):
    """``(AccelConfig, arguments)``; raises ``UsageError``."""
    args = build_parser().parse_args(argv)
    config = _config(args)
    _check_synth_arguments(args)
    return config, args


def parse_config(argv):
    """``(AccelConfig, output folder)`` from command-line arguments; raises ``UsageError``."""
    config, args = _parse(argv)
    return config, args.output


def write_outputs(folder, files):
    """Write ``files`` into ``folder`` all or nothing: each through a temporary file and a
    rename; on failure, every file written so far (and a folder created here) is removed and
    ``UsageError`` raised."""
    created = not os.path.exists(folder)
    staged, written = [], []
    try:
        os.makedirs(folder, exist_ok=True)
        for name, text in files.items():
            temporary = os.path.join(folder, f".{name}.partial")
            staged.append((temporary, os.path.join(folder, name)))
            with open(temporary, "w", encoding="ascii", newline="\n") as handle:
                handle.write(text)
        for temporary, final in staged:
            os.replace(temporary, final)
            written.append(final)
    except OSError as error:
        for temporary, final in staged:
            for path in (temporary, final if final in written else None):
                if path and os.path.exists(path):
                    os.remove(path)
        if created and os.path.isdir(folder) and not os.listdir(folder):
            os.rmdir(folder)
        raise UsageError(f"cannot write to {folder!r}: {error.strerror or error}") from None


def _run(argv):
    config, args = _parse(argv)
    folder = args.output
    check_output_folder(folder)
    began = time.perf_counter()
    files = generate(config)
    write_outputs(folder, files)
    elapsed = time.perf_counter() - began
    verilog_name = f"{config.name}.v"
    size = len(files[verilog_name])
    kind = config.format.name if config.pe == "ternary" else "int8-baseline"
    print(f"{config.rows}x{config.cols} {kind} array ({config.pe_count} PEs): "
          f"wrote {os.path.join(folder, verilog_name)} ({size / 1024:.0f} KiB), "
          f"{os.path.join(folder, f'{config.name}.f')} and "
          f"{os.path.join(folder, 'manifest.json')} in {elapsed:.1f} s", flush=True)
    if args.synth is None:
        return 0
    synth_folder = os.path.join(folder, "synth")
    options = {"device": args.device, "freq_mhz": args.freq, "timeout": args.synth_timeout}
    try:
        report = synth.synthesize(config, args.synth, synth_folder, pnr=args.pnr,
                                  dsp=not args.no_dsp, breakdown=not args.no_breakdown,
                                  verilog=files[verilog_name],
                                  **{key: value for key, value in options.items()
                                     if value is not None})
    except synth.SynthError as error:
        print(f"{PROG}: synthesis failed: {error}", file=sys.stderr)
        return 1
    print(synth.format_report(report))
    print(f"wrote {os.path.join(synth_folder, 'report.json')}")
    return 0


def main(argv=None):
    """Run the command line; return its exit status (0, 1 for a tool failure, 2 for bad
    arguments or an output that cannot be written). ``explore`` as the first argument runs
    the design-space sweep instead (:mod:`gen.explore.cli`)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["explore"]:
        from .explore.cli import main as explore
        return explore(argv[1:])
    return run_cli(PROG, _run, argv)
