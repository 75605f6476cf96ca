"""One full BitNet b1.58 2B-4T layer on a simulated array: every GEMM of a prefill and of the
decode steps, bit-exact against golden and cycle-exact against the cycle model.

    python benchmarks/bitnet_2b_layer.py [--rows 64] [--cols 64] [--weight-format i2]
                                         [--weight-port-bits W] [--prefill 8] [--decode 2]
                                         [--seed 0]

The layer is layer 0 of :mod:`golden.synthetic`'s random 2B-4T checkpoint (the same seed gives
the same weights as ``python -m golden.synthetic``), built in memory by its generator
(:func:`golden.synthetic.shards`) for a one-layer copy of :data:`BITNET_2B_4T_CONFIG`: all
seven projections at their real shapes (q and o 2560->2560, k and v 2560->640, gate and up
2560->6912, down 6912->2560). Only the vocabulary is cut (to :data:`VOCAB_SIZE`), which sizes
the embedding and ``lm_head`` that run on the host and never on the array, so nothing of 1.3 GB
is drawn.

Golden's forward pass (:class:`golden.BitNetModel`) runs a prefill of ``--prefill`` seeded
random tokens and then ``--decode`` greedy decode steps of one token with the KV cache; its
GEMM backend (``model.gemm``, which every projection calls with its quantized int8
activations and ternary weights) records each call. Each recorded GEMM then runs on the
simulated ``--rows`` x ``--cols`` array with the weight format ``--weight-format`` and a
weight port of ``--weight-port-bits`` (default: one tile row per beat)
(:func:`cosim.run_gemm`), and the result must equal
:func:`golden.int_gemm` and its cycle count the cycle model (:meth:`AccelConfig.cycles`,
summed over the hardware jobs of ``max_m`` rows each); otherwise the script stops with an
:class:`AssertionError`. Printed: per phase and projection ``M K N``, the cycles and the wall
time of the ``run_gemm`` call; per phase the totals; then the wall times of the build (the
Verilator build of the harness, 0 s when ``sim_build/`` already holds it, plus the start of
the simulator session), of golden's forward pass and of the simulation, and the total.
``TERNARY_ACCEL_BUILD_DIR=<empty folder>`` measures a cold build.

:func:`run_layer` is the benchmark for any :class:`golden.BitNetConfig` and array
configuration (``tests/test_bitnet_2b_layer_benchmark.py`` runs it on a scaled-down layer).
"""

import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

import golden  # noqa: E402
from cosim import run_gemm  # noqa: E402
from cosim.design_cache import cached_simulator  # noqa: E402
from cosim.harness import BUILD_ARGS, harness_design  # noqa: E402
from cosim.session import session_for  # noqa: E402
from golden.cli import (OneLineParser, integer, integer_range,  # noqa: E402
                        field_usage_error, run_cli)
from golden.synthetic import BITNET_2B_4T_CONFIG, shards  # noqa: E402
from rtl.config import AccelConfig, ConfigError  # noqa: E402

__all__ = ["VOCAB_SIZE", "layer_config", "layer_params", "record_gemms", "run_layer", "main"]

#: The cut vocabulary of the one-layer model (the embedding and ``lm_head`` only).
VOCAB_SIZE = 1024

PROG = "python benchmarks/bitnet_2b_layer.py"


def layer_config():
    """The one-layer :class:`golden.BitNetConfig` of 2B-4T with :data:`VOCAB_SIZE` tokens."""
    return golden.BitNetConfig.from_dict(
        {**BITNET_2B_4T_CONFIG, "num_hidden_layers": 1, "vocab_size": VOCAB_SIZE})


def layer_params(config, seed):
    """The params of :func:`golden.synthetic.shards` for ``config`` (every shard, in memory)."""
    return {name: value for shard in shards(config, seed=seed) for name, value in shard.items()}


def record_gemms(model, prefill, decode, seed):
    """Run golden's forward pass: a prefill of ``prefill`` seeded random tokens, then ``decode``
    greedy steps of one token. Return ``[(phase, projection, xq, wq)]`` of every GEMM in
    execution order (phase ``"prefill"``, ``"decode 1"`` ...; projection the last part of
    its name, ``q_proj`` ...)."""
    calls, phase = [], [None]

    def gemm(xq, wq):
        projection = model.current_projection.rsplit(".", 1)[-1]
        calls.append((phase[0], projection, np.array(xq), wq))
        return golden.int_gemm(xq, wq)

    model.gemm = gemm
    rng = np.random.default_rng(seed)
    cache = model.new_cache()
    phase[0] = "prefill"
    logits = model.forward(rng.integers(0, model.config.vocab_size, prefill), cache,
                           last_only=True)
    for step in range(decode):
        phase[0] = f"decode {step + 1}"
        logits = model.forward([int(np.argmax(logits[-1]))], cache, last_only=True)
    return calls


def expected_cycles(accel, m, k, n):
    """The cycle model of ``run_gemm`` on ``[m, k] x [n, k]``: jobs of ``max_m`` rows."""
    sizes = [accel.max_m] * (m // accel.max_m) + ([m % accel.max_m] if m % accel.max_m else [])
    return sum(accel.cycles(size, k, n) for size in sizes)


def run_layer(config, *, prefill, decode, seed=0, out=print, **accel_fields):
    """The benchmark: ``config``'s layers on the array ``accel_fields`` (``rows``, ``cols`` and
    any other :class:`AccelConfig` field). Prints the table to ``out`` and returns
    ``{"gemms": [(phase, projection, m, k, n, cycles, seconds)], "build_s": ..., "golden_s":
    ..., "simulation_s": ..., "total_s": ...}``.

    Raises
    ------
    AssertionError
        A GEMM's result differs from :func:`golden.int_gemm` or its cycles from the model.
    """
    start = time.perf_counter()
    accel = AccelConfig(**accel_fields)
    build = cached_simulator("harness", accel, harness_design, extra_args=BUILD_ARGS)
    session_for(build)
    built = time.perf_counter()
    model = golden.BitNetModel(config, layer_params(config, seed))
    calls = record_gemms(model, prefill, decode, seed)
    del model
    forwarded = time.perf_counter()

    gemms = []
    out(f"{accel.rows}x{accel.cols} array, prefill {prefill} tokens, {decode} decode tokens")
    out(f"{'phase':<9} {'projection':<10} {'M':>3} {'K':>5} {'N':>5} {'cycles':>9} "
        f"{'wall s':>7} {'cycles/s':>8}")
    for phase, projection, xq, wq in calls:
        (m, k), n = xq.shape, wq.shape[0]
        began = time.perf_counter()
        result = run_gemm(xq, wq, **accel_fields)
        seconds = time.perf_counter() - began
        assert np.array_equal(result.y, golden.int_gemm(xq, wq)), \
            f"{phase} {projection}: the array's result differs from golden.int_gemm"
        model_count = expected_cycles(accel, m, k, n)
        assert result.cycles == model_count, \
            f"{phase} {projection}: {result.cycles} cycles, the cycle model says {model_count}"
        gemms.append((phase, projection, m, k, n, result.cycles, seconds))
        out(f"{phase:<9} {projection:<10} {m:>3} {k:>5} {n:>5} {result.cycles:>9} "
            f"{seconds:>7.2f} {result.cycles / seconds:>8.0f}")
    simulated = time.perf_counter()

    for phase in dict.fromkeys(g[0] for g in gemms):
        rows = [g for g in gemms if g[0] == phase]
        cycles, seconds = sum(g[5] for g in rows), sum(g[6] for g in rows)
        out(f"{phase:<9} {'total':<10} {'':>3} {'':>5} {'':>5} {cycles:>9} {seconds:>7.2f} "
            f"{cycles / seconds:>8.0f}")
    report = {"gemms": gemms, "build_s": built - start, "golden_s": forwarded - built,
              "simulation_s": simulated - forwarded, "total_s": simulated - start}
    out(f"all {len(gemms)} GEMMs bit-exact against golden.int_gemm, cycles equal to the model: "
        f"{sum(g[5] for g in gemms)} cycles")
    out(f"wall time: build {report['build_s']:.1f} s, golden forward {report['golden_s']:.1f} s,"
        f" simulation {report['simulation_s']:.1f} s, total {report['total_s']:.1f} s")
    return report


def main(argv=None):
    """The command line; returns the exit status (2 with one line on stderr for bad input)."""
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=integer, default=64)
    parser.add_argument("--cols", type=integer, default=64)
    parser.add_argument("--weight-format", choices=["i2", "t5"], default="i2")
    parser.add_argument("--weight-port-bits", type=integer, default=None,
                        help="bits of a weight beat (default: one tile row)")
    parser.add_argument("--prefill", type=integer_range(1, 256), default=8,
                        help="prefill tokens (default 8)")
    parser.add_argument("--decode", type=integer_range(0, 64), default=2,
                        help="decode tokens after the prefill (default 2)")
    parser.add_argument("--seed", type=integer_range(0, 2**63 - 1), default=0)
    args = parser.parse_args(argv)
    fields = dict(rows=args.rows, cols=args.cols, weight_format=args.weight_format,
                  weight_port_bits=args.weight_port_bits)
    try:
        AccelConfig(**fields)
    except ConfigError as error:
        raise field_usage_error(error) from None
    run_layer(layer_config(), prefill=args.prefill, decode=args.decode, seed=args.seed,
              **fields)


if __name__ == "__main__":
    sys.exit(main())
