"""Cycles and utilization of GEMMs on the simulated hardware, measured through the real
interfaces with ``cosim.run_gemm``, next to the manifest's cycle model.

    python benchmarks/utilization.py [--sizes 4 8 16] [--weight-format i2]
                                     [--rows-per-beat 1]

Cycle counts are exact and deterministic; the shapes are the steady-state case
(M = 4*rows, K = 8*rows, N = 8*cols), a decode-like M = 1 case and a ragged case. Each array
runs with a weight port of ``k`` tile rows per beat for every ``--rows-per-beat`` value
(``W = format.word_bits(k * cols)``; 1 is the default port); ``k`` must be at most every
size. A result that differs from ``golden.int_gemm`` or a cycle count that differs from
:meth:`rtl.config.AccelConfig.cycles` stops the script with an ``AssertionError``.
"""

import sys

import numpy as np

import golden
from cosim import run_gemm
from golden.cli import OneLineParser, UsageError, integer_range, run_cli
from rtl.config import AccelConfig

PROG = "python benchmarks/utilization.py"


def main(argv=None):
    """The command line; returns the exit status (2 with one line on stderr for bad input)."""
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=integer_range(1, 256), nargs="+", default=[4, 8, 16])
    parser.add_argument("--weight-format", default="i2", choices=["i2", "t5"])
    parser.add_argument("--rows-per-beat", type=integer_range(1, 256), nargs="+", default=[1],
                        help="tile rows per weight beat, k (default 1)")
    args = parser.parse_args(argv)
    too_many = [k for k in args.rows_per_beat if k > min(args.sizes)]
    if too_many:
        raise UsageError(f"--rows-per-beat {too_many[0]} is more than the {min(args.sizes)} "
                         f"rows of the smallest array")
    fmt = golden.FORMATS[args.weight_format]
    rng = np.random.default_rng(0)
    print("| array | W (rows per beat) | M x K x N | cycles (simulated) | cycles (model) "
          "| utilization |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        for per_beat in args.rows_per_beat:
            fields = dict(rows=size, cols=size, weight_format=args.weight_format,
                          weight_port_bits=fmt.word_bits(per_beat * size))
            config = AccelConfig(**fields)
            shapes = [(4 * size, 8 * size, 8 * size), (1, 8 * size, 8 * size),
                      (2 * size + 3, 5 * size + 1, 3 * size - 1)]
            for m, k, n in shapes:
                x = rng.integers(-128, 128, size=(m, k))
                w = rng.integers(-1, 2, size=(n, k))
                result = run_gemm(x, w, **fields)
                assert np.array_equal(result.y, golden.int_gemm(x, w)), \
                    "result differs from golden"
                assert result.cycles == config.cycles(m, k, n), \
                    f"{size}x{size} {m}x{k}x{n}: {result.cycles} cycles simulated, the model " \
                    f"says {config.cycles(m, k, n)}"
                print(f"| {size}x{size} | {config.word_bits} ({config.rows_per_beat}) "
                      f"| {m} x {k} x {n} | {result.cycles} | {config.cycles(m, k, n)} "
                      f"| {result.utilization:.3f} |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
