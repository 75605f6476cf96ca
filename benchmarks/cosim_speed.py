"""Co-simulation speed against the raw speed of the same design, side by side.

    python benchmarks/cosim_speed.py [--sizes 16 64] [--runs 3] [--fno-inline]

For each array size the script runs the same GEMM (16x16: M=64, K=N=512; 64x64: M=256,
K=N=512; other sizes: M=4*rows, K=N=512) two ways:

* **co-simulation**: :func:`cosim.run_gemm`, the whole call from Python (its simulator
  session started by a first call, not timed);
* **raw**: the same design and harness (:mod:`cosim.harness`) under a plain Verilog
  testbench (clock, reset, ``start``, wait for ``finished``, ``$finish``) built with
  ``verilator --binary`` and the same build arguments, no Python; the binary's whole run.

Both are checked bit-exact against ``golden.int_gemm`` with the cycle count of the cycle model
(``AccelConfig.cycles``). Printed: cycles, the wall time (median of ``--runs``) and cycles/s of
each, their ratio, and the fixed cost per call (a 1x1x1 GEMM: ``run_gemm`` within a process
whose session is up; the first call of a process, which starts the session, the design
already built; and the raw binary). The raw and co-simulation runs alternate, so that other
load on the machine weighs on both alike.. ``--fno-inline`` builds
the raw binary with ``-fno-inline`` as well (the flag the builds had before).
Builds are cached under ``sim_build/`` like every other.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

import golden
from cosim import run_gemm
from cosim.build import BUILD_ARGS, BUILD_ROOT, WAIVERS, build_key, make_flags, \
    verilator_environment
from cosim.design_cache import cached_simulator
from cosim.harness import BUILD_ARGS as HARNESS_ARGS
from cosim.harness import harness_design, read_results, write_stimulus
from rtl.config import AccelConfig


TESTBENCH = """\
// Plain Verilog testbench of {harness} (which makes its own clock): the cocotb job's reset and
// start, no Python.
module speed_tb;
    wire clk;
    reg rst = 1'b1;
    reg start = 1'b0;
    wire finished;
    wire failed;
    wire cmd_error;
    wire [63:0] cycles;
    wire [31:0] jobs;
    wire [31:0] weights_taken;
    wire [31:0] activations_taken;
    wire [31:0] results_taken;
    {harness} harness (
        .clk(clk), .rst(rst), .start(start),
        .weight_rate(17'h10000), .activation_rate(17'h10000), .result_rate(17'h10000),
        .seed(32'd0), .finished(finished), .failed(failed), .cmd_error(cmd_error),
        .cycles(cycles), .jobs(jobs), .weights_taken(weights_taken),
        .activations_taken(activations_taken), .results_taken(results_taken));
    initial begin
        repeat (2) @(posedge clk);
        rst <= 1'b0;
        @(posedge clk);
        start <= 1'b1;
        @(posedge clk);
        start <= 1'b0;
        @(posedge finished);
        $display("cycles %0d jobs %0d failed %0d", cycles, jobs, failed);
        $finish;
    end
endmodule
"""


def job_shape(size):
    return {16: (64, 512, 512), 64: (256, 512, 512)}.get(size, (4 * size, 512, 512))


def build_raw(config, extra_args=()):
    """Build the plain-testbench binary of ``config``'s harness (cached); return its path."""
    verilator_environment()
    design, harness = harness_design(config)
    text = design + "\n" + TESTBENCH.format(harness=harness)
    args = ["--binary", *BUILD_ARGS, *HARNESS_ARGS, *extra_args]
    key = build_key(text, "speed_tb", build_args=args)
    folder = pathlib.Path(BUILD_ROOT) / f"raw-{config.digest}-{key}"
    binary = folder / "speed_tb"
    if (folder / ".built").exists():
        return binary, 0.0
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "speed_tb.v").write_text(text)
    began = time.perf_counter()
    with open(folder / "build.log", "w") as log, make_flags(args):
        subprocess.run(["verilator", *args, "-j", str(os.cpu_count() or 1), "--top-module",
                        "speed_tb", "-Mdir", str(folder), "-o", "speed_tb", str(WAIVERS),
                        str(folder / "speed_tb.v")], check=True, stdout=log,
                       stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - began
    (folder / ".built").write_text(f"{seconds:.1f}\n")
    return binary, seconds


def run_raw(binary, config, x, w, folder):
    """One raw run in ``folder``: ``(seconds, cycles, y)``."""
    job = write_stimulus(folder, config, x, w)
    began = time.perf_counter()
    out = subprocess.run([str(binary)], cwd=folder, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - began
    fields = out.stdout.split("cycles ")[1].split()
    if fields[4] != "0":
        raise RuntimeError(f"the raw testbench could not open its files in {folder}")
    return seconds, int(fields[0]), read_results(folder, job)


def check(label, config, x, w, cycles, y):
    m, k = x.shape
    expected_cycles = sum(config.cycles(min(config.max_m, m - m0), k, w.shape[0])
                          for m0 in range(0, m, config.max_m))
    if not np.array_equal(y, golden.int_gemm(x, w)):
        raise AssertionError(f"{label}: result differs from golden.int_gemm")
    if cycles != expected_cycles:
        raise AssertionError(f"{label}: {cycles} cycles, the cycle model says {expected_cycles}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--fno-inline", action="store_true",
                        help="build the raw binary with -fno-inline")
    args = parser.parse_args()
    rng = np.random.default_rng(2026)
    rows = []
    for size in args.sizes:
        config = AccelConfig(rows=size, cols=size)
        options = dict(rows=size, cols=size)
        m, k, n = job_shape(size)
        x = rng.integers(-128, 128, size=(m, k))
        w = rng.integers(-1, 2, size=(n, k))
        one = np.ones((1, 1), dtype=np.int64)

        began = time.perf_counter()
        if not cached_simulator("harness", config, harness_design,
                                extra_args=HARNESS_ARGS).reused:
            print(f"built the {size}x{size} co-simulation in "
                  f"{time.perf_counter() - began:.0f} s", file=sys.stderr)
        binary, built = build_raw(config, ["-fno-inline"] if args.fno_inline else [])
        if built:
            print(f"built the {size}x{size} raw testbench in {built:.0f} s", file=sys.stderr)
        began = time.perf_counter()
        run_gemm(one, one, **options)            # starts the simulator session
        first_call = time.perf_counter() - began
        # Raw and co-simulation runs alternate, so that other load on the machine weighs on
        # both alike.
        times = {"raw": [], "cosim": [], "raw fixed": [], "cosim fixed": []}
        with tempfile.TemporaryDirectory() as folder:
            folder = pathlib.Path(folder)
            for _ in range(args.runs):
                seconds, raw_cycles, raw_y = run_raw(binary, config, x, w, folder)
                check(f"{size}x{size} raw", config, x, w, raw_cycles, raw_y)
                times["raw"].append(seconds)
                began = time.perf_counter()
                result = run_gemm(x, w, **options)
                times["cosim"].append(time.perf_counter() - began)
                check(f"{size}x{size} co-simulation", config, x, w, result.cycles, result.y)
                times["raw fixed"].append(run_raw(binary, config, one, one, folder)[0])
                began = time.perf_counter()
                run_gemm(one, one, **options)
                times["cosim fixed"].append(time.perf_counter() - began)
        median = {name: statistics.median(values) for name, values in times.items()}
        rows.append((size, m, k, n, result.cycles, median["raw"], median["cosim"],
                     median["cosim fixed"], first_call, median["raw fixed"]))
        print(f"{size}x{size}: done", file=sys.stderr, flush=True)

    print(f"| array | M x K x N | cycles | raw (verilator --binary) | co-simulation (run_gemm) "
          f"| ratio | fixed cost per call: run_gemm / first call of a process / raw |")
    print("|---|---|---|---|---|---|---|")
    for size, m, k, n, cycles, raw, cosim, fixed, first, raw_fixed in rows:
        print(f"| {size}x{size} | {m} x {k} x {n} | {cycles} | {raw:.3f} s, "
              f"{cycles / raw / 1e3:.1f} k cycles/s | {cosim:.3f} s, "
              f"{cycles / cosim / 1e3:.1f} k cycles/s | {raw / cosim:.0%} | "
              f"{fixed:.3f} s / {first:.2f} s / {raw_fixed:.3f} s |")


if __name__ == "__main__":
    main()
