"""Batched decode of BitNet b1.58 2B-4T on the accelerator: array cycles per decode step for
a batch of B sequences, from the exact cycle model, against B and the weight port width.

    python benchmarks/batched_decode.py [--rows 64 --cols 64] [--clock-mhz 250]
                                        [--batch 1 2 4 8 16 32]
                                        [--weight-port-bits default 512 1024]
                                        [--weight-format i2 t5]

A decode step of a batch runs every BitLinear projection as ONE GEMM with ``M = B`` (the last
token of every sequence stacked, as :meth:`golden.BitNetModel.steps_batch` does), so the
array loads each weight tile once per step for the whole batch. For each weight format, port
width ``W`` (``default``: one array row per beat) and ``B``, the script sums
``AccelConfig(rows, cols, weight_format, weight_port_bits=W).cycles(m=B, k=K, n=N)`` over the
seven projections of a layer and the 30 layers, with the real 2B-4T shapes (hidden 2560,
intermediate 6912, 20 heads, 5 KV heads of 128: ``golden.synthetic.BITNET_2B_4T_CONFIG``; no
model is built). Batches larger than the configuration's ``max_m`` are split into jobs as the
driver splits them (:func:`cosim.report.model_cycles`).

Columns: cycles per decode step; that against B = 1; tokens/s per sequence
(``clock / cycles``) and in total (``B`` times that) at ``--clock-mhz``. What the figures
include: the BitLinear GEMMs on the array only, sources always valid and sinks always ready
(the weight port fed at one beat per cycle). Not included: the unquantized ``lm_head``
(128256 x 2560), attention over the KV cache, norms and sampling (host work), and the time to
move the KV cache. A width that is not legal for a format (``W`` must be a whole number of
tile rows of that format) is left out of the table with a line saying so.
"""

import argparse
import sys

from cosim.report import model_cycles
from golden.cli import OneLineParser, integer_range, positive_number, run_cli
from golden.config import BitNetConfig, param_shapes, projection_names
from golden.synthetic import BITNET_2B_4T_CONFIG
from rtl.config import AccelConfig, ConfigError

DEFAULT_BATCHES = (1, 2, 4, 8, 16, 32)


def _width(text):
    if text == "default":
        return None
    try:
        value = int(text, 10)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'default' or an integer, not {text!r}") \
            from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 'default' or a positive integer, "
                                         f"not {text!r}")
    return value


_positive = integer_range(1)


def layer_shapes(config):
    """``[(name, K, N)]`` of the BitLinear projections of layer 0, in execution order."""
    shapes = param_shapes(config)
    names = [name for name in projection_names(config) if name.startswith("model.layers.0.")]
    return [(name.rsplit(".", 1)[1], shapes[f"{name}.weight"][0][1],
             shapes[f"{name}.weight"][0][0]) for name in names]


def step_cycles(accel, shapes, layers, batch):
    """Array cycles of one decode step of ``batch`` sequences: every projection of every
    layer one GEMM with ``M = batch``."""
    return layers * sum(model_cycles(accel, batch, k, n) for _, k, n in shapes)


PROG = "python benchmarks/batched_decode.py"


def main(argv=None):
    """The command line; returns the exit status (2 with one line on stderr for bad input)."""
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_positive, default=64, help="array rows (default 64)")
    parser.add_argument("--cols", type=_positive, default=64, help="array columns (default 64)")
    parser.add_argument("--clock-mhz", type=positive_number, default=250.0,
                        help="clock of the tokens/s columns (default 250)")
    parser.add_argument("--batch", type=_positive, nargs="+", default=list(DEFAULT_BATCHES),
                        help="batch sizes B (default 1 2 4 8 16 32)")
    parser.add_argument("--weight-port-bits", type=_width, nargs="+",
                        default=[None, 512, 1024],
                        help="weight port widths W, 'default' for one array row per beat "
                             "(default: default 512 1024)")
    parser.add_argument("--weight-format", nargs="+", choices=["i2", "t5"],
                        default=["i2", "t5"], help="weight formats (default: i2 t5)")
    args = parser.parse_args(argv)
    model = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
    shapes = layer_shapes(model)
    clock = args.clock_mhz * 1e6
    print(f"BitNet b1.58 2B-4T decode, {model.num_hidden_layers} layers x "
          + ", ".join(f"{name} {k}x{n}" for name, k, n in shapes)
          + f" (K x N); {args.rows}x{args.cols} array at {args.clock_mhz:g} MHz; BitLinear "
          f"GEMMs only\n")
    print("| format | W (bits/cycle) | B | cycles per step | vs B = 1 | tokens/s per sequence "
          "| tokens/s total |")
    print("|---|---|---|---|---|---|---|")
    skipped = []
    for name in args.weight_format:
        for width in args.weight_port_bits:
            try:
                accel = AccelConfig(rows=args.rows, cols=args.cols, weight_format=name,
                                    weight_port_bits=width)
            except ConfigError as error:
                skipped.append(f"{name}, W = {width}: {error}")
                continue
            label = f"{accel.word_bits}" + (" (default)" if width is None else "")
            single = step_cycles(accel, shapes, model.num_hidden_layers, 1)
            for batch in args.batch:
                cycles = step_cycles(accel, shapes, model.num_hidden_layers, batch)
                rate = clock / cycles
                print(f"| {name} | {label} | {batch} | {cycles:,} | {cycles / single:.2f} | "
                      f"{rate:.1f} | {batch * rate:.1f} |", flush=True)
    for line in skipped:
        print(f"\nleft out: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
