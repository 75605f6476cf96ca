"""Decode speed and peak memory of the golden model on a BitNet b1.58 2B-4T-shaped checkpoint.

    python benchmarks/golden_2b_decode.py [--checkpoint FOLDER] [--prompt 4] [--new 6]
                                          [--blas-threads 1]

Without ``--checkpoint`` it first writes the random 2B-4T-shaped checkpoint of
:mod:`golden.synthetic` into a temporary folder (about 1.8 GB, removed at the end). It then
loads the folder with :func:`golden.load_checkpoint` (the loader of a real checkpoint), runs a
greedy generation of ``--new`` tokens after a ``--prompt``-token prompt with the KV cache,
and prints the load time, the prefill time, each decode step's time, the median decode rate
(tokens/s over the steps after the prefill) and the process's peak resident memory
(``resource.getrusage``, which includes the load).

BLAS threads: the exact GEMM runs through NumPy's BLAS. OpenBLAS's own threads wait for each
other on every call and stall badly when other processes hold the cores, so the benchmark
sets ``OPENBLAS_NUM_THREADS`` (default 1, the stable choice on a shared 2-core machine)
before NumPy is imported; ``--blas-threads 0`` leaves the environment as it is.
"""

import argparse
import os
import sys


def _arguments(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", help="existing checkpoint folder (default: write one)")
    parser.add_argument("--prompt", type=int, default=4, help="prompt tokens (default 4)")
    parser.add_argument("--new", type=int, default=6, help="tokens to generate (default 6)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the written checkpoint")
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OPENBLAS_NUM_THREADS to set (0: leave the environment alone)")
    args = parser.parse_args(argv)
    if args.prompt < 1 or args.new < 2:
        parser.error("--prompt must be at least 1 and --new at least 2")
    return args


def main(argv=None):
    args = _arguments(argv)
    if args.blas_threads > 0:
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.blas_threads)
    import resource
    import statistics
    import tempfile
    import time

    import numpy as np

    from golden import load_checkpoint
    from golden.synthetic import write_checkpoint

    def peak_gb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB on Linux

    with tempfile.TemporaryDirectory(prefix="bitnet-2b-") as scratch:
        folder = args.checkpoint
        if folder is None:
            folder = os.path.join(scratch, "checkpoint")
            began = time.perf_counter()
            write_checkpoint(folder, seed=args.seed)
            print(f"wrote {folder} in {time.perf_counter() - began:.1f} s "
                  f"(peak {peak_gb():.2f} GB so far)")
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        began = time.perf_counter()
        model = load_checkpoint(folder)
        loaded = time.perf_counter() - began
        print(f"loaded {size / 1e9:.2f} GB in {loaded:.1f} s (peak {peak_gb():.2f} GB so far)")
        c = model.config
        prompt = np.random.default_rng(1).integers(0, c.vocab_size, args.prompt)
        marks = []
        tokens = [token for token, _ in model.steps(
            prompt, args.new, on_forward=lambda step: marks.append(time.perf_counter()))]
        marks.append(time.perf_counter())
        steps = np.diff(marks)       # steps[0]: the prefill; steps[i]: the pass fed token i
        decode = steps[1:]
        rate = 1 / statistics.median(decode)
    print(f"prompt {args.prompt} tokens, {len(tokens)} new tokens: {tokens}")
    print(f"prefill {steps[0]:.2f} s; decode steps " + ", ".join(f"{s:.2f}" for s in decode) + " s")
    print(f"| {c.num_hidden_layers} layers, hidden {c.hidden_size}, vocabulary {c.vocab_size} "
          f"| load {loaded:.1f} s | prefill {args.prompt} tokens {steps[0]:.2f} s "
          f"| decode {rate:.2f} tokens/s (median of {len(decode)}) | peak RSS {peak_gb():.2f} GB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
