"""Decode from memory: BitNet b1.58 2B-4T's M = 1 GEMMs on the memory-mapped top, the weight
stream against the port's beat rate, from the exact cycle model of the AXI top
(``rtl.axi.cycles.axi_job_cycles`` and ``axi_queue_cycles``: a memory that answers a read
burst ``--latency`` cycles after its request and then a beat per cycle), and one shape
co-simulated through memory.

    python benchmarks/axi_decode.py [--array 64x64] [--formats t5 i2] [--ports 1024 512]
        [--latency 100] [--clock-mhz 250] [--cosim N K [--queue J]]

For each format and weight port ``W``: every 2B-4T projection shape (``N x K``: q and o
2560x2560, k and v 640x2560, gate and up 6912x2560, down 2560x6912) and the fused jobs a
decode step runs (q, k, v as one 3840x2560 job; gate and up as one 13824x2560), the job's
``CYCLES`` started from idle (from the accepted start to the last write response: the memory
latency, the core's fill and drain and the result writes included) and queued behind a job
like it (from the end of that job: its reads overlap that job's drain), its weight beats, and
the **weight stream's share of the port's beat rate**, beats / cycles. A decode token (30
layers of the four fused jobs, or of the seven projections) then takes the sum, jobs one at a
time or as one queue, and the tokens/s at ``--clock-mhz`` count the array's jobs only (no
lm_head, no KV cache, no host work: see ``benchmarks/decode_projection.py`` for those).

``--cosim N K`` runs one ``1 x K`` by ``N x K`` GEMM through memory on the simulated
memory-mapped top of the first format and port (``run_gemm(..., interface="axi")``: golden's
images in cocotbext-axi's memory models, the registers through AXI4-Lite), asserts its
results equal golden's and its ``CYCLES`` equal the model, and prints the wall time (the
first run builds the design: minutes at 64x64). With ``--queue J``, ``J`` such GEMVs (each its
own random weights and activations) run as one queue (``cosim.run_axi_queue``), each job's
``CYCLES`` against ``axi_queue_cycles`` given the cycles the starts were accepted.
"""

import sys
import time

from golden.cli import OneLineParser, UsageError, integer_range, positive_number, run_cli
from gen.explore.workload import fused, layer_projections
from golden.config import BitNetConfig
from golden.synthetic import BITNET_2B_4T_CONFIG
from rtl.axi.cycles import axi_job_cycles, axi_queue_cycles
from rtl.config import AccelConfig, ConfigError

__all__ = ["MODEL", "accelerator", "job_rows", "layer_jobs", "token_jobs", "token_cycles",
           "main"]

PROG = "python benchmarks/axi_decode.py"
MODEL = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)


def accelerator(rows, cols, fmt, port_bits):
    """The memory-mapped design of the figures (``max_k``/``max_n`` cover 2B-4T's fused
    jobs)."""
    return AccelConfig(rows=rows, cols=cols, weight_format=fmt, weight_port_bits=port_bits,
                       interface="axi", max_m=256, max_k=8192, max_n=16384)


def job_rows(config, latency):
    """``[(label, N, K, cycles, queued, beats)]`` of every shape and fused job at M = 1:
    ``cycles`` started from idle, ``queued`` behind a job of the same shape."""
    shapes = [(name, n, k) for name, k, n in layer_projections(MODEL)]
    shapes += [(name, n, k) for name, k, n in fused(layer_projections(MODEL))
               if name in ("qkv", "gate_up")]
    rows = []
    for name, n, k in shapes:
        alone, queued = axi_queue_cycles(config, [(1, k, n)] * 2, read_latency=latency)
        rows.append((name, n, k, alone, queued, config.weight_beats(k, n)))
    return rows


def layer_jobs(fuse=True):
    """The ``(M, K, N)`` of one layer's BitLinear jobs at decode: its four fused jobs, or its
    seven projections."""
    projections = layer_projections(MODEL)
    return [(1, k, n) for _, k, n in (fused(projections) if fuse else projections)]


def token_jobs(fuse=True):
    """The jobs of one decode token: :func:`layer_jobs` for every layer, in order."""
    return layer_jobs(fuse) * MODEL.num_hidden_layers


def token_cycles(config, latency, *, fuse=True, queue=False):
    """Cycles of one decode token: its jobs one at a time (each started from idle) or as one
    queue (each started in the first cycle the hardware accepts it, behind the one before).

    Exact and quick: one at a time, the layer's sum times the layers; as a queue, a queued
    job's cycles depend only on where the job before it ended, so once a layer's ``CYCLES``
    repeat from one layer to the next (checked on the third layer) the rest of the token
    repeats them; otherwise the whole token is replayed."""
    layers = MODEL.num_hidden_layers
    layer = layer_jobs(fuse)
    if not queue:
        return layers * sum(axi_job_cycles(config, *job, read_latency=latency)
                            for job in layer)
    if layers < 3:
        return sum(axi_queue_cycles(config, token_jobs(fuse), read_latency=latency))
    three = axi_queue_cycles(config, layer * 3, read_latency=latency)
    first, second, third = (three[i * len(layer):(i + 1) * len(layer)] for i in range(3))
    if second != third:
        return sum(axi_queue_cycles(config, token_jobs(fuse), read_latency=latency))
    return sum(first) + (layers - 1) * sum(second)


def _array(text):
    rows, _, cols = text.partition("x")
    try:
        return int(rows), int(cols)
    except ValueError:
        raise UsageError(f"--array must be ROWSxCOLS, not {text!r}") from None


def _parser():
    parser = OneLineParser(prog=PROG, description="2B-4T decode GEMMs through memory on the "
                                                  "memory-mapped top (exact cycle model).")
    parser.add_argument("--array", default="64x64", help="ROWSxCOLS (default %(default)s)")
    parser.add_argument("--formats", nargs="+", choices=("t5", "i2"), default=["t5", "i2"],
                        help="weight formats (default: t5 i2)")
    parser.add_argument("--ports", nargs="+", type=integer_range(32, 4096),
                        default=[1024, 512], metavar="W",
                        help="weight beats in bits, legal powers of two (default 1024 512)")
    parser.add_argument("--latency", type=integer_range(1, 1 << 16), default=100,
                        help="memory read latency in cycles (default %(default)s)")
    parser.add_argument("--clock-mhz", type=positive_number, default=250.0, metavar="MHZ",
                        help="clock of the tokens/s (default %(default)s)")
    parser.add_argument("--cosim", nargs=2, type=integer_range(1, 16384), metavar=("N", "K"),
                        help="also co-simulate this M = 1 GEMM through memory (default: no)")
    parser.add_argument("--queue", type=integer_range(1, 64), default=1, metavar="J",
                        help="with --cosim: run J such GEMMs as one queue (default 1)")
    return parser


def _run(argv, out=print):
    args = _parser().parse_args(argv)
    rows, cols = _array(args.array)
    from cosim.axi_bench import BENCH_LATENCY
    if args.queue > 1 and not args.cosim:
        raise UsageError("--queue needs --cosim")
    if args.cosim and args.latency != BENCH_LATENCY:
        raise UsageError(f"--cosim simulates a memory of {BENCH_LATENCY} cycles: give "
                         f"--latency {BENCH_LATENCY}")
    configs = []
    for fmt in args.formats:
        for bits in args.ports:
            try:
                configs.append((fmt, bits, accelerator(rows, cols, fmt, bits)))
            except ConfigError as error:
                raise UsageError(f"{fmt} W={bits}: {error}") from None
    out(f"# 2B-4T decode GEMMs (M = 1) through memory, {rows}x{cols}, read latency "
        f"{args.latency} cycles\n")
    out("| format | W | job (N x K) | weight beats | cycles alone | beats / cycle | "
        "cycles queued | beats / cycle |")
    out("|---|---|---|---|---|---|---|---|")
    for fmt, bits, config in configs:
        for name, n, k, alone, queued, beats in job_rows(config, args.latency):
            out(f"| {fmt} | {bits} | {name} ({n}x{k}) | {beats} | {alone} | "
                f"{beats / alone:.4f} | {queued} | {beats / queued:.4f} |")
    out("\n| format | W | token (30 layers) | weight beats | jobs one at a time: cycles | "
        f"beats / cycle | tokens/s at {args.clock_mhz:g} MHz | one queue: cycles | "
        "beats / cycle | tokens/s |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    for fmt, bits, config in configs:
        for fuse in (True, False):
            beats = sum(config.weight_beats(k, n) for _, k, n in token_jobs(fuse))
            cells = []
            for queue in (False, True):
                cycles = token_cycles(config, args.latency, fuse=fuse, queue=queue)
                cells += [str(cycles), f"{beats / cycles:.4f}",
                          f"{args.clock_mhz * 1e6 / cycles:.1f}"]
            label = "4 fused jobs a layer" if fuse else "7 projections a layer"
            out(f"| {fmt} | {bits} | {label} | {beats} | {' | '.join(cells)} |")
    if args.cosim:
        _cosim(configs[0], args, out)
    return 0


def _cosim(chosen, args, out):
    import numpy as np

    import golden
    from cosim import run_gemm

    fmt, bits, config = chosen
    n, k = args.cosim
    rng = np.random.default_rng(0)
    if args.queue > 1:
        return _cosim_queue(config, rng, n, k, args, out)
    x = rng.integers(-128, 128, size=(1, k))
    w = rng.integers(-1, 2, size=(n, k))
    began = time.perf_counter()
    result = run_gemm(x, w, rows=config.rows, cols=config.cols, weight_format=fmt,
                      weight_port_bits=bits, interface="axi", max_m=config.max_m,
                      max_k=config.max_k, max_n=config.max_n)
    seconds = time.perf_counter() - began
    model = axi_job_cycles(config, 1, k, n, read_latency=args.latency)
    exact = np.array_equal(result.y, golden.int_gemm(x, w))
    beats = config.weight_beats(k, n)
    out(f"\nco-simulated {fmt} W={bits} {n}x{k}: {result.cycles} cycles (model {model}), "
        f"{beats} weight beats, {beats / result.cycles:.4f} beats/cycle, results "
        f"{'bit-exact' if exact else 'WRONG'}, {seconds:.0f} s wall (build included)")
    if not exact or result.cycles != model:
        print(f"{PROG}: the co-simulation disagrees with golden or the model", file=sys.stderr)
        raise SystemExit(1)


def _cosim_queue(config, rng, n, k, args, out):
    import numpy as np

    import golden
    from cosim import run_axi_queue

    jobs = [(rng.integers(-128, 128, size=(1, k)), rng.integers(-1, 2, size=(n, k)))
            for _ in range(args.queue)]
    began = time.perf_counter()
    results, launches = run_axi_queue(jobs, rows=config.rows, cols=config.cols,
                                      weight_format=config.format.name,
                                      weight_port_bits=config.word_bits, max_m=config.max_m,
                                      max_k=config.max_k, max_n=config.max_n)
    seconds = time.perf_counter() - began
    cycles = [result.cycles for result in results]
    model = axi_queue_cycles(config, [(1, k, n)] * args.queue, launches=launches,
                             read_latency=args.latency)
    exact = all(np.array_equal(result.y, golden.int_gemm(x, w))
                for result, (x, w) in zip(results, jobs))
    beats = config.weight_beats(k, n)
    out(f"\nco-simulated {config.format.name} W={config.word_bits} {n}x{k} x {args.queue}, one "
        f"queue (starts in cycles {launches}): CYCLES {cycles} (model {model}), {beats} weight "
        f"beats each, {', '.join(f'{beats / c:.4f}' for c in cycles)} beats/cycle; in all "
        f"{args.queue * beats / sum(cycles):.4f}; results "
        f"{'bit-exact' if exact else 'WRONG'}, {seconds:.0f} s wall (build included)")
    if not exact or cycles != model:
        print(f"{PROG}: the co-simulation disagrees with golden or the model", file=sys.stderr)
        raise SystemExit(1)


def main(argv=None):
    return run_cli(PROG, _run, argv)


if __name__ == "__main__":
    sys.exit(main())
