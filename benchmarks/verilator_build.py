"""Verilator build time of the generated top level (the cocotb bench's build, with the
project's flags), per array size.

    python benchmarks/verilator_build.py [--sizes 8 16 32 64] [--runs 1]

Each run builds into a fresh temporary folder, so nothing is cached. Wall time, median of
``--runs``.
"""

import argparse
import statistics
import tempfile
import time

from cosim.build import build_design
from gen.emit import emit_verilog
from rtl.config import AccelConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    print(f"| array | Verilator build (median of {args.runs}) |")
    print("|---|---|")
    for size in args.sizes:
        times = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as folder:
                config = AccelConfig(rows=size, cols=size)
                verilog = emit_verilog(config)
                began = time.perf_counter()
                build_design("bench", config.digest, verilog, config.name, root=folder)
                times.append(time.perf_counter() - began)
        print(f"| {size}x{size} | {statistics.median(times):.0f} s |", flush=True)


if __name__ == "__main__":
    main()
