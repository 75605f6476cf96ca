"""Command line of the generator.

``python -m gen --rows 64 --cols 64 [-o DIR]`` writes ``<name>.v`` and ``manifest.json``.
Bad arguments exit with status 2 and one line on stderr, and write nothing.
"""

import argparse
import dataclasses
import os
import re
import sys
import time

from rtl.config import AccelConfig, ConfigError, WEIGHT_FORMATS

from .emit import generate


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
    parser.add_argument("--weight-format", choices=WEIGHT_FORMATS, default=defaults.weight_format,
                        help="packed weights: i2 = 2 bits/weight, t5 = 1.6 bits/weight "
                             "(default %(default)s)")
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
    parser.add_argument("-o", "--output", default="build",
                        help="output folder (default %(default)s)")
    return parser


def parse_config(argv):
    """``(AccelConfig, output folder)`` from command-line arguments; raises ``UsageError``."""
    args = _parser().parse_args(argv)
    try:
        config = AccelConfig(rows=args.rows, cols=args.cols, act_bits=args.act_bits,
                             acc_bits=args.acc_bits, weight_format=args.weight_format,
                             wmem_depth=args.wmem_depth, max_m=args.max_m, max_k=args.max_k,
                             max_n=args.max_n, name=args.name)
    except ConfigError as error:
        # Name the command-line options rather than the Python fields.
        message = str(error)
        for field in dataclasses.fields(AccelConfig):
            message = re.sub(rf"\b{field.name}(?= must|=)", f"--{field.name.replace('_', '-')}", message)
        raise UsageError(message) from None
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
        config, folder = parse_config(argv)
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
    print(f"{config.rows}x{config.cols} {config.weight_format} array ({config.pe_count} PEs): "
          f"wrote {os.path.join(folder, verilog_name)} ({size / 1024:.0f} KiB) and "
          f"{os.path.join(folder, 'manifest.json')} in {elapsed:.1f} s")
    return 0
