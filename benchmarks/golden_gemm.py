"""Time golden's exact integer GEMM against the int64 product it replaced, on 2B-4T shapes.

    python benchmarks/golden_gemm.py [--runs 7] [--blas-threads 1]

For each shape (M tokens, K inputs, N outputs: BitNet b1.58 2B-4T's gate/up and down
projections at one and eight tokens, its q/o and k/v projections at one), prints the median over ``--runs`` of
``golden.int_gemm`` (BLAS in float32, exact: see ``golden/gemm.py``) and of the former method,
NumPy's int64 matrix product ``xq.astype(int64) @ wq.astype(int64).T`` cast to int32, and
checks that the two results are identical. ``--blas-threads`` sets ``OPENBLAS_NUM_THREADS``
before NumPy is imported (default 1; 0 leaves the environment alone).
"""

import argparse
import os
import sys

SHAPES = [(1, 2560, 6912), (8, 2560, 6912), (1, 6912, 2560), (8, 6912, 2560),
          (1, 2560, 2560), (1, 2560, 640)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--blas-threads", type=int, default=1)
    args = parser.parse_args(argv)
    if args.blas_threads > 0:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import statistics
    import time

    import numpy as np

    from golden import int_gemm

    def median_seconds(function):
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            function()
            times.append(time.perf_counter() - began)
        return statistics.median(times)

    rng = np.random.default_rng(0)
    print(f"| M x K x N | int64 product (before) | int_gemm (now) | speed-up |")
    print("|---|---|---|---|")
    for m, k, n in SHAPES:
        xq = rng.integers(-128, 128, (m, k), dtype=np.int8)
        wq = rng.integers(-1, 2, (n, k), dtype=np.int8)
        before = (xq.astype(np.int64) @ wq.astype(np.int64).T).astype(np.int32)
        if not np.array_equal(int_gemm(xq, wq), before):
            raise SystemExit(f"int_gemm differs from the int64 product at {m}x{k}x{n}")
        old = median_seconds(lambda: (xq.astype(np.int64) @ wq.astype(np.int64).T)
                             .astype(np.int32))
        new = median_seconds(lambda: int_gemm(xq, wq))
        print(f"| {m} x {k} x {n} | {old * 1e3:.1f} ms | {new * 1e3:.2f} ms | {old / new:.0f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
