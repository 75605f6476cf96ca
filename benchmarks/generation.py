"""Generation time and Verilog size per array size.

    python benchmarks/generation.py [--sizes 8 16 32 64] [--shapes 1x256 256x1] [--runs 3]

Times ``gen.emit.generate`` in this process (the CLI adds about 0.5 s of start-up) and reports
the median of ``--runs`` runs. ``--sizes`` are square arrays; ``--shapes`` adds ``ROWSxCOLS``
arrays.
"""

import argparse
import statistics
import time

from gen.emit import generate
from rtl.config import AccelConfig


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--shapes", nargs="+", default=[], metavar="ROWSxCOLS")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--weight-format", default="i2", choices=["i2", "t5"])
    args = parser.parse_args()
    print(f"| array | format | generation (median of {args.runs}) | Verilog | manifest |")
    print("|---|---|---|---|---|")
    shapes = [(size, size) for size in args.sizes]
    shapes += [tuple(int(part) for part in shape.split("x")) for shape in args.shapes]
    for rows, cols in shapes:
        config = AccelConfig(rows=rows, cols=cols, weight_format=args.weight_format)
        times = []
        for _ in range(args.runs):
            began = time.perf_counter()
            files = generate(config)
            times.append(time.perf_counter() - began)
        verilog = files[f"{config.name}.v"]
        print(f"| {rows}x{cols} | {args.weight_format} | {statistics.median(times):.2f} s "
              f"| {len(verilog) / 1024:.0f} KiB, {verilog.count(chr(10))} lines "
              f"| {len(files['manifest.json']) / 1024:.1f} KiB |", flush=True)


if __name__ == "__main__":
    main()
