"""Cycles and utilization of GEMMs on the simulated hardware, measured through the real
interfaces with ``cosim.run_gemm``, next to the manifest's cycle model.

    python benchmarks/utilization.py [--sizes 4 8 16]

Cycle counts are exact and deterministic; the shapes are the steady-state case
(M = 4*rows, K = 8*rows, N = 8*cols), a decode-like M = 1 case and a ragged case.
"""

import argparse

import numpy as np

import golden
from cosim import run_gemm
from rtl.config import AccelConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[4, 8, 16])
    parser.add_argument("--weight-format", default="i2", choices=["i2", "t5"])
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print("| array | M x K x N | cycles (simulated) | cycles (model) | utilization |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        config = AccelConfig(rows=size, cols=size, weight_format=args.weight_format)
        shapes = [(4 * size, 8 * size, 8 * size), (1, 8 * size, 8 * size),
                  (2 * size + 3, 5 * size + 1, 3 * size - 1)]
        for m, k, n in shapes:
            x = rng.integers(-128, 128, size=(m, k))
            w = rng.integers(-1, 2, size=(n, k))
            result = run_gemm(x, w, rows=size, cols=size, weight_format=args.weight_format)
            assert np.array_equal(result.y, golden.int_gemm(x, w)), "result differs from golden"
            print(f"| {size}x{size} | {m} x {k} x {n} | {result.cycles} | "
                  f"{config.cycles(m, k, n)} | {result.utilization:.3f} |", flush=True)


if __name__ == "__main__":
    main()
