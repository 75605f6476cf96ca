"""Tokens per second of the golden BitNet model on seeded random weights.

    python benchmarks/golden_tokens_per_second.py [--sizes tiny small medium] [--runs 5]
                                                  [--prompt 32] [--new 32]

For each size, runs ``model.stream`` (one prefill of ``--prompt`` tokens, then ``--new``
greedy decode steps with the KV cache) ``--runs`` times and reports the median prefill rate
(prompt tokens / prefill seconds) and decode rate (tokens after the first / their seconds).
"""

import argparse
import statistics
import time

import numpy as np

from golden import BitNetConfig, BitNetModel, load_checkpoint, random_params

SIZES = {
    # the size of the unit tests
    "tiny": dict(vocab_size=64, hidden_size=32, intermediate_size=48, num_hidden_layers=2,
                 num_attention_heads=4, num_key_value_heads=2),
    "small": dict(vocab_size=1024, hidden_size=256, intermediate_size=688, num_hidden_layers=4,
                  num_attention_heads=8, num_key_value_heads=2),
    # 1/2.5 of BitNet b1.58 2B-4T's width, 8 of its 30 layers, a 32k vocabulary
    "medium": dict(vocab_size=32000, hidden_size=1024, intermediate_size=2752,
                   num_hidden_layers=8, num_attention_heads=8, num_key_value_heads=2),
}


def measure(model, prompt, new_tokens):
    """``(prefill seconds, decode seconds)`` of one greedy generation."""
    began = time.perf_counter()
    first = None
    for _ in model.stream(prompt, new_tokens):
        first = time.perf_counter() if first is None else first
    return first - began, time.perf_counter() - first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="*", choices=sorted(SIZES), default=["tiny", "small"])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", type=int, default=32)
    parser.add_argument("--new", type=int, default=32)
    parser.add_argument("--checkpoint", action="append", default=[],
                        help="also measure this checkpoint folder (repeatable)")
    args = parser.parse_args()
    print(f"| model | parameters | prefill {args.prompt} tokens | decode {args.new - 1} tokens "
          f"(median of {args.runs}) |")
    print("|---|---|---|---|")
    models = []
    for size in args.sizes:
        config = BitNetConfig(**SIZES[size], max_position_embeddings=args.prompt + args.new)
        models.append((size, BitNetModel(config, random_params(config, seed=0))))
    for folder in args.checkpoint:
        models.append((folder, load_checkpoint(folder)))
    for size, model in models:
        config = model.config
        if args.prompt + args.new > config.max_position_embeddings:
            raise SystemExit(f"{size}: --prompt + --new exceed max_position_embeddings="
                             f"{config.max_position_embeddings}")
        prompt = np.random.default_rng(1).integers(0, config.vocab_size, args.prompt)
        measure(model, prompt, 2)                                   # warm-up
        runs = [measure(model, prompt, args.new) for _ in range(args.runs)]
        prefill = statistics.median(p for p, _ in runs)
        decode = statistics.median(d for _, d in runs)
        count = sum(int(np.prod(a.shape)) for a in model.params.values())
        c = config
        print(f"| {size}: {c.num_hidden_layers} layers, hidden {c.hidden_size}, "
              f"vocab {c.vocab_size} | {count / 1e6:.2f} M | {args.prompt / prefill:.0f} tokens/s "
              f"| {(args.new - 1) / decode:.1f} tokens/s |", flush=True)


if __name__ == "__main__":
    main()
