"""Generation time and Verilog size per array size.

    python benchmarks/generation.py [--sizes 8 16 32 64] [--runs 3]

Times ``gen.emit.generate`` in this process (the CLI adds about 0.5 s of start-up) and reports
the median of ``--runs`` runs.
"""

import argparse
import statistics
import time

from gen.emit import generate
from rtl.config import AccelConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--weight-format", default="i2", choices=["i2", "t5"])
    args = parser.parse_args()
    print(f"| array | format | generation (median of {args.runs}) | Verilog | manifest |")
    print("|---|---|---|---|---|")
    for size in args.sizes:
        config = AccelConfig(rows=size, cols=size, weight_format=args.weight_format)
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            files = generate(config)
            times.append(time.perf_counter() - began)
        verilog = files[f"{config.name}.v"]
        print(f"| {size}x{size} | {args.weight_format} | {statistics.median(times):.2f} s "
              f"| {len(verilog) / 1024:.0f} KiB, {verilog.count(chr(10))} lines "
              f"| {len(files['manifest.json']) / 1024:.1f} KiB |", flush=True)


if __name__ == "__main__":
    main()
