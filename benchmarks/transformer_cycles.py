"""Cycles per token of BitNet models on generated arrays: measured in co-simulation for a
small checkpoint, and projected from the manifest's cycle model for one layer of the size of
BitNet b1.58 2B-4T.

    python benchmarks/transformer_cycles.py --checkpoint models/sort-digits \
        --sizes 8 16 32 64 --prompt-ids 1,2,3 --max-new-tokens 8

For every array size it runs the checkpoint on the simulated hardware (``run_transformer``),
checks that every GEMM's simulated cycle count equals the cycle model, and prints cycles per
prefill and per decode token with utilization. It then applies the same (now checked) model to
a 2B-4T layer: hidden 2560, intermediate 6912, 20 heads / 5 KV heads (head_dim 128), prefill of
128 tokens and one decode token. Cycle counts are exact; the wall times are single runs, with
the Verilator build they include (0 s when the simulator was already built).
"""

import argparse

from cosim.report import model_cycles
from golden.config import BitNetConfig, param_shapes, projection_names
from golden.synthetic import BITNET_2B_4T_CONFIG
from cosim.transformer import run_transformer
from rtl.config import AccelConfig


def bitnet_2b_layer_shapes():
    """``[(name, K, N)]`` of one 2B-4T decoder layer's projections, from golden's
    configuration of the published checkpoint (:data:`golden.synthetic.BITNET_2B_4T_CONFIG`)."""
    config = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
    shapes = param_shapes(config)
    return [(name.rsplit(".", 1)[1],) + tuple(reversed(shapes[f"{name}.weight"][0]))
            for name in projection_names(config) if name.startswith("model.layers.0.")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--prompt-ids", default="1,2,3,4,5,6,7,8")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument("--clock-mhz", type=float, default=200.0)
    args = parser.parse_args()
    prompt = [int(v) for v in args.prompt_ids.split(",")]

    print(f"Small model `{args.checkpoint}`, {len(prompt)}-token prompt, "
          f"{args.max_new_tokens} new tokens (co-simulated):\n")
    print("| array | prefill cycles | decode cycles/token | utilization | model exact "
          "| decode tokens/s at {:.0f} MHz | wall |".format(args.clock_mhz))
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes:
        run = run_transformer(args.checkpoint, prompt, args.max_new_tokens, rows=size,
                              cols=size, clock_mhz=args.clock_mhz)
        c, wall = run.report["cycles"], run.report["wall_seconds"]
        print(f"| {size}x{size} | {c['prefill']} | {c['per_decode_token']:.0f} "
              f"| {run.report['utilization']:.3f} | {run.report['cycle_model_agrees']} "
              f"| {run.report['projection']['decode_tokens_per_second']:.0f} "
              f"| {wall['total']:.0f} s ({wall['build']:.0f} s build) |", flush=True)

    print("\nOne BitNet b1.58 2B-4T layer (cycle model):\n")
    print("| array | prefill 128 tokens: cycles | decode: cycles/token | decode utilization "
          "| 30 layers: decode tokens/s at {:.0f} MHz |".format(args.clock_mhz))
    print("|---|---|---|---|---|")
    for size in args.sizes:
        config = AccelConfig(rows=size, cols=size)
        prefill = sum(model_cycles(config, 128, k, n) for _, k, n in bitnet_2b_layer_shapes())
        decode = sum(model_cycles(config, 1, k, n) for _, k, n in bitnet_2b_layer_shapes())
        macs = sum(k * n for _, k, n in bitnet_2b_layer_shapes())
        print(f"| {size}x{size} | {prefill} | {decode} | {macs / (config.pe_count * decode):.3f} "
              f"| {args.clock_mhz * 1e6 / (30 * decode):.2f} |")


if __name__ == "__main__":
    main()
