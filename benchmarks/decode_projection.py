"""Decode at the memory roofline: BitNet b1.58 2B-4T decode tokens/s and weight-bandwidth
utilization for memory systems stated by their bits per cycle and clock, GEMV cycles against
the roofline and prefill utilization, all from the exact cycle model (no simulation).

    python benchmarks/decode_projection.py [--memory kv260 ddr4 ddr4-300 hbm2]
        [--context 1024 4096] [--array 64x64] [--tables projection traffic references gemv
        prefill]

Shapes come from golden: ``golden.synthetic.BITNET_2B_4T_CONFIG`` through
:func:`golden.config.param_shapes` (30 layers of seven BitLinear projections, q 2560x2560,
k and v 640x2560 each, o 2560x2560, gate and up 6912x2560, down 2560x6912 as N x K; each
projection one GEMM, as :class:`golden.BitNetModel` calls them).

**projection**: for each memory system (:data:`MEMORIES`: ``W_mem`` bits per cycle at a
clock) and each accelerator on it (``E`` engines of ``rows x cols``, each with a weight port of
``W = W_mem / E`` bits, legal for the format), the decode token at ``M = 1``: every projection
of every layer one job, split over the engines by whole tile columns (engine ``e`` takes a
contiguous share of the ``ceil(N / cols)`` tile columns, the job lasts as long as its slowest
engine), each job's cycles :meth:`rtl.config.AccelConfig.cycles` (sources always valid, sinks
always ready, jobs one after another, fill and drain of every job included). Weight-bandwidth
utilization = (BitLinear weights x the format's ideal bits per weight) / (cycles x
``W_mem``), so the padding of the tiles and of the last beat, the engines' imbalance and
the fixed cost of each job all count against it. The fused columns run q, k, v as one job
and gate, up as one (their weights concatenated along N, the same results column for
column): 4 jobs per layer instead of 7.

**traffic**: what the BitLinear figure leaves out, as bytes a host or a second engine must move
per token at the same bandwidth: the unquantized ``lm_head`` (128256 x 2560, tied to the
embedding; bf16 as the checkpoint ships it, or int8) and the KV cache read at a context length
(bf16 K and V, ``2 x layers x KV heads x head_dim x 2`` bytes per position). Tokens/s "with"
them add their time at the memory's bandwidth to the array's. Host compute (norms, attention
arithmetic, activation quantization, sampling) is not counted anywhere.

**gemv**: cycles of single 2B-4T GEMMs at ``M = 1`` against the roofline ``N*K*b/W`` (``b``
the format's ideal bits per weight), with the fixed part ``M + rows + 5`` (the first tile's
last row, the row's pass down the array and out; it does not grow with N or K) shown apart.

**prefill**: utilization ``M*K*N / (rows*cols*cycles)`` of a whole 2B-4T layer at
``M = 4*rows``, 256 and 512 (a design with ``max_m = 512``, so that 512 rows are one job), for
a selection of ``W``, then the lowest over every legal ``W``.

The model's shapes, the memory port, the engines and the decode token are
:mod:`gen.explore.workload`'s (``python -m gen explore`` uses them too); this script holds the
memory systems, the references and the tables.
"""

import dataclasses
import sys

from gen.explore.workload import (Memory, decode_token, engine_columns, engine_widths, fused,
                                  job_cycles)
from gen.explore import workload
from golden.cli import OneLineParser, UsageError, integer_range, run_cli
from golden.config import BitNetConfig
from golden.formats import FORMATS
from golden.synthetic import BITNET_2B_4T_CONFIG
from rtl.config import AccelConfig, ConfigError

__all__ = ["Memory", "MEMORIES", "REFERENCES", "MODEL", "layer_projections", "fused",
           "engine_widths", "engine_columns", "job_cycles", "decode_token", "traffic_bytes",
           "gemv_row", "layer_utilization", "main"]

PROG = "python benchmarks/decode_projection.py"

#: The model every table is about.
MODEL = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)


def layer_projections(config=MODEL):
    """:func:`gen.explore.workload.layer_projections`, of 2B-4T by default."""
    return workload.layer_projections(config)


def traffic_bytes(config=MODEL, **options):
    """:func:`gen.explore.workload.traffic_bytes`, of 2B-4T by default."""
    return workload.traffic_bytes(config, **options)


#: The memory systems of the projection (issue 12): name -> :class:`Memory`.
MEMORIES = {
    "kv260": Memory(
        "KV260", "4 x 128 bit at 250 MHz", 512, 250.0,
        "bitnet-kv260's four 128-bit ports at its clock", ((1, 64, 64),)),
    "ddr4": Memory(
        "DDR4-2400 x64", "1024 bit at 150 MHz", 1024, 150.0,
        "one channel, 2400 MT/s x 8 bytes = 19.2 GB/s; the controller's 512-bit user port at "
        "300 MHz widened 2:1 to a clock this project's designs reach (8x8 places at 160-167 "
        "MHz on ECP5)", ((1, 64, 64),)),
    "ddr4-300": Memory(
        "DDR4-2400 x64", "512 bit at 300 MHz", 512, 300.0,
        "the same channel at the controller's own 4:1 clock (8 x 64 bits per cycle)",
        ((1, 64, 64),)),
    "hbm2": Memory(
        "HBM2 stack", "16384 bit at 225 MHz", 16384, 225.0,
        "1024 pins x 3.6 Gb/s (for example 32 ports of 256 bits at 450 MHz, widened 2:1); "
        "W is at most a whole tile (8192 bits for a 64x64 i2 tile, 6560 for t5), so the port "
        "feeds four 64x64 engines of 4096 bits or one 128x128 array",
        ((1, 128, 128), (4, 64, 64))),
}

#: Published figures the projection is weighed against (issue 12): (design, platform,
#: decode tokens/s, what else is known).
REFERENCES = (
    ("bitnet-kv260", "KV260, measured on the board; 4 x 128-bit beats at 250 MHz (16 GB/s), "
     "base-3 weights", 16.78, "weight stream at 79.6 % of its ports' beat rate; its stated "
     "floor 33 tokens/s; 6.2 W"),
    ("TeLLMe v2", "KV260", 25.0, "up to 25 tokens/s at under 5 W"),
    ("bitnet.cpp", "CPU (its technical report)", 34.0, "29 ms per token"),
)


def gemv_row(accel, k, n):
    """One GEMV at M = 1: ``(cycles, roofline, fixed)`` with ``roofline = N*K*b/W`` (``b``
    the format's ideal bits per weight) and ``fixed = M + latency`` (``1 + rows + 5``)."""
    cycles = accel.cycles(1, k, n)
    roofline = n * k * accel.format.bits_per_weight / accel.word_bits
    return cycles, roofline, 1 + accel.latency


def layer_utilization(accel, m, projections):
    """Array utilization of one layer's projections at ``M = m``, one job each."""
    macs = sum(m * k * n for _, k, n in projections)
    return macs / (accel.pe_count * sum(accel.cycles(m, k, n) for _, k, n in projections))


def selected_widths(rows, cols, fmt):
    """The port widths of the GEMV and prefill tables: the default (one row per beat), the
    widths of :data:`MEMORIES`' engines (512, 1024, 4096, 16384 bits) and 8192 where legal,
    and the whole tile."""
    base = AccelConfig(rows=rows, cols=cols, weight_format=fmt)
    legal = base.legal_weight_port_bits
    return [None] + sorted({w for w in (512, 1024, 4096, 8192, 16384) if w in legal}
                           | {legal[-1]})


# -- tables --------------------------------------------------------------------------------

def _tokens(seconds):
    return f"{1 / seconds:.1f}"


def projection_tables(names, contexts, out):
    projections = layer_projections()
    layers = MODEL.num_hidden_layers
    head, _ = traffic_bytes()
    weights = layers * sum(k * n for _, k, n in projections)
    out(f"BitNet b1.58 2B-4T decode at M = 1: {layers} layers x "
        + ", ".join(f"{name} {n}x{k}" for name, k, n in projections)
        + f" (N x K), {weights:,} BitLinear weights per token "
        f"({weights * 2 / 8e6:.0f} MB at 2 b/w, {weights * 1.6 / 8e6:.0f} MB at 1.6 b/w); "
        f"bf16 head {head / 1e6:.1f} MB.\n")
    header = (["memory", "port (GB/s)", "accelerator", "format", "W per engine",
               "cycles per token", "roofline cycles", "fixed cycles", "padding and imbalance",
               "weight-bandwidth utilization", "BitLinear only: tokens/s",
               "+ bf16 head: tokens/s"]
              + [f"+ head + KV {c}: tokens/s" for c in contexts]
              + ["fused 4 jobs/layer: utilization", "fused: tokens/s"])
    out("| " + " | ".join(header) + " |")
    out("|---" * len(header) + "|")
    skipped = []
    for name in names:
        memory = MEMORIES[name]
        for engines, rows, cols in memory.setups:
            for fmt in ("i2", "t5"):
                try:
                    token = decode_token(memory, engines, rows, cols, fmt, projections, layers)
                except ConfigError as error:
                    skipped.append(f"{memory.label} {memory.port}, {engines} x {rows}x{cols} "
                                   f"{fmt}: {error}")
                    continue
                fuse = decode_token(memory, engines, rows, cols, fmt, fused(projections),
                                    layers)
                array_s = 1 / token["tokens_per_s"]
                extra = [_tokens(array_s + (head + traffic_bytes(context=c)[1])
                                 / memory.bytes_per_s) for c in contexts]
                accel = token["accel"]
                out(f"| {memory.label} | {memory.port} ({memory.bytes_per_s / 1e9:.1f}) "
                    f"| {engines} x {rows}x{cols} | {fmt} | {accel.word_bits} "
                    f"({accel.rows_per_beat} rows) | {token['cycles']:,} "
                    f"| {token['roofline']:,.0f} | {token['fixed']:,} "
                    f"| {token['cycles'] - token['fixed'] - token['roofline']:,.0f} "
                    f"| {100 * token['utilization']:.2f} % | {token['tokens_per_s']:.1f} "
                    f"| {_tokens(array_s + head / memory.bytes_per_s)} | "
                    + " | ".join(extra)
                    + f" | {100 * fuse['utilization']:.2f} % | {fuse['tokens_per_s']:.1f} |")
    out("")
    for name in names:
        memory = MEMORIES[name]
        out(f"- {memory.label}, {memory.port} = {memory.bits // 8} bytes per cycle, "
            f"{memory.bytes_per_s / 1e9:.1f} GB/s: {memory.why}")
    for line in skipped:
        out(f"\nleft out: {line}")


def traffic_table(names, contexts, out):
    projections = layer_projections()
    layers = MODEL.num_hidden_layers
    head16, _ = traffic_bytes()
    head8, _ = traffic_bytes(head_bytes=1)
    items = [("BitLinear i2 (2 b/w), ideal", layers * sum(k * n for _, k, n in projections)
              * FORMATS["i2"].bits_per_weight / 8),
             ("BitLinear t5 (1.6 b/w), ideal", layers * sum(k * n for _, k, n in projections)
              * FORMATS["t5"].bits_per_weight / 8),
             ("lm_head bf16 (128256 x 2560 x 2 bytes)", head16),
             ("lm_head int8 (1 byte per weight)", head8)]
    items += [(f"KV cache, bf16, {c} positions", traffic_bytes(context=c)[1])
              for c in contexts]
    memories = list({(MEMORIES[n].label, MEMORIES[n].bytes_per_s): None for n in names})
    out("\nBytes per decode token and their time at each memory's bandwidth (ms):\n")
    out("| traffic | MB per token | " + " | ".join(
        f"{label} {rate / 1e9:.1f} GB/s" for label, rate in memories) + " |")
    out("|---|---|" + "---|" * len(memories))
    for label, size in items:
        out(f"| {label} | {size / 1e6:.1f} | " + " | ".join(
            f"{1e3 * size / rate:.2f}" for _, rate in memories) + " |")


def references_table(out):
    out("\nAgainst the references (decode tokens/s of 2B-4T):\n")
    out("| design | platform | tokens/s | notes |")
    out("|---|---|---|---|")
    for design, platform, rate, notes in REFERENCES:
        out(f"| {design} | {platform} | {rate:g} | {notes} |")
    memory, (engines, rows, cols) = MEMORIES["kv260"], MEMORIES["kv260"].setups[0]
    head, _ = traffic_bytes()
    for fmt in ("i2", "t5"):
        token = decode_token(memory, engines, rows, cols, fmt, layer_projections(),
                             MODEL.num_hidden_layers)
        with_head = 1 / (1 / token["tokens_per_s"] + head / memory.bytes_per_s)
        out(f"| this design, {rows}x{cols} {fmt} (cycle model) | {memory.label} {memory.port} "
            f"| {token['tokens_per_s']:.1f} BitLinear only, {with_head:.1f} with the bf16 head "
            f"| weight stream at {100 * token['utilization']:.2f} % of the port |")


def gemv_table(arrays, out):
    out("\nGEMV at M = 1 against the roofline N*K*b/W (b = 2 for i2, 1.6 for t5); fixed = "
        "M + rows + 5:\n")
    out("| array | format | W (rows per beat) | N x K | cycles | roofline | fixed "
        "| (cycles - fixed) / roofline | cycles / roofline | <= 1.05 roofline + fixed |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    shapes = list(dict.fromkeys((n, k) for _, k, n in layer_projections()))
    for rows, cols in arrays:
        for fmt in ("i2", "t5"):
            for width in selected_widths(rows, cols, fmt):
                accel = AccelConfig(rows=rows, cols=cols, weight_format=fmt,
                                    weight_port_bits=width)
                label = f"{accel.word_bits} ({accel.rows_per_beat})" \
                    + (" default" if width is None else "")
                for n, k in shapes:
                    cycles, roofline, fixed = gemv_row(accel, k, n)
                    out(f"| {rows}x{cols} | {fmt} | {label} | {n}x{k} | {cycles:,} "
                        f"| {roofline:,.1f} | {fixed} | {(cycles - fixed) / roofline:.4f} "
                        f"| {cycles / roofline:.4f} "
                        f"| {'yes' if cycles <= 1.05 * roofline + fixed else 'NO'} |")


def prefill_table(arrays, out):
    projections = layer_projections()
    out("\nPrefill: utilization M*K*N / (rows*cols*cycles) of one 2B-4T layer (7 jobs), "
        "max_m = 512:\n")
    for rows, cols in arrays:
        sizes = sorted({4 * rows, 256, 512})
        out(f"| array | format | W (rows per beat) | "
            + " | ".join(f"M = {m}" + (" (4 rows)" if m == 4 * rows else "") for m in sizes)
            + " |")
        out("|---|---|---|" + "---|" * len(sizes))
        lowest = []
        for fmt in ("i2", "t5"):
            base = AccelConfig(rows=rows, cols=cols, weight_format=fmt, max_m=max(sizes))
            for width in selected_widths(rows, cols, fmt):
                accel = dataclasses.replace(base, weight_port_bits=width)
                out(f"| {rows}x{cols} | {fmt} | {accel.word_bits} ({accel.rows_per_beat})"
                    + (" default" if width is None else "") + " | "
                    + " | ".join(f"{layer_utilization(accel, m, projections):.4f}"
                                 for m in sizes) + " |")
            every = [(layer_utilization(dataclasses.replace(base, weight_port_bits=w), m,
                                        projections), w, m)
                     for w in base.legal_weight_port_bits for m in sizes]
            low = min(every)
            lowest.append(f"{fmt}: lowest over all {len(base.legal_weight_port_bits)} legal W "
                          f"and M in {sizes}: {low[0]:.4f} (W = {low[1]}, M = {low[2]})")
        out("")
        for line in lowest:
            out(f"{rows}x{cols} {line}")
        out("")


# -- command line --------------------------------------------------------------------------

TABLES = ("projection", "traffic", "references", "gemv", "prefill")


def _array(text):
    rows, sep, cols = text.partition("x")
    if not sep or not rows.isdigit() or not cols.isdigit():
        raise UsageError(f"--array must be ROWSxCOLS such as 64x64, not {text!r}")
    try:
        AccelConfig(rows=int(rows), cols=int(cols))
    except ConfigError as error:
        raise UsageError(f"--array {text}: {error}") from None
    return int(rows), int(cols)


def main(argv=None):
    """The command line; returns the exit status (2 with one line on stderr for bad input)."""
    return run_cli(PROG, _run, argv)


def _run(argv, out=print):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--memory", nargs="+", choices=list(MEMORIES), default=list(MEMORIES),
                        help="memory systems of the projection (default: all)")
    parser.add_argument("--context", nargs="+",
                        type=integer_range(1, MODEL.max_position_embeddings),
                        default=[1024, 4096], help="KV-cache context lengths (default 1024 "
                        "4096)")
    parser.add_argument("--array", nargs="+", default=["64x64"],
                        help="arrays of the gemv and prefill tables (default 64x64)")
    parser.add_argument("--tables", nargs="+", choices=TABLES, default=list(TABLES))
    args = parser.parse_args(argv)
    arrays = [_array(text) for text in args.array]
    if "projection" in args.tables:
        projection_tables(args.memory, args.context, out)
    if "traffic" in args.tables:
        traffic_table(args.memory, args.context, out)
    if "references" in args.tables:
        references_table(out)
    if "gemv" in args.tables:
        gemv_table(arrays, out)
    if "prefill" in args.tables:
        prefill_table(arrays, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
