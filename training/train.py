"""Train a small BitNet b1.58 model on the digit-sorting task and export it.

    python -m training.train --seed 0 --out models/sort-digits

Quantization-aware training from scratch (see training/README.md); at the
end the latent weights are ternarized with ``golden.quantize_weights``, the
model is rebuilt as a ``golden.BitNetModel``, its greedy exact-match accuracy
on held-out problems is measured *in the golden model*, and the checkpoint is
written with ``golden.save_checkpoint`` plus ``tokenizer.json`` and
``training.json``.
"""

import argparse
import hashlib
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import golden
from training import task
from training.model_torch import BitNetForCausalLM, TrainConfig


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the initialization and the data order"
    )
    p.add_argument("--steps", type=int, default=1500, help="optimizer steps")
    p.add_argument("--batch-size", type=int, default=128, help="sequences per step")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int, default=100, help="linear warm-up steps")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--intermediate-size", type=int, default=128)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=4)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--max-positions", type=int, default=64,
                   help="max_position_embeddings, the rotary table size (>= 14; default 64 so "
                        "that demos can generate past the trained length)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the model is too small to gain from more, and two "
        "threads on two busy cores run up to 25 times slower; results depend on this number)",
    )
    p.add_argument("--eval-every", type=int, default=250, help="steps between held-out evaluations")
    p.add_argument("--eval-examples", type=int, default=500, help="held-out problems evaluated")
    p.add_argument(
        "--min-accuracy", type=float, default=0.95, help="fail below this golden accuracy"
    )
    p.add_argument("--out", type=Path, default=Path("models") / task.NAME, help="checkpoint folder")
    p.add_argument("--no-export", action="store_true", help="train and evaluate in torch only")
    args = p.parse_args(argv)
    for name in ("steps", "batch_size", "eval_every", "eval_examples", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if args.max_positions < task.SEQ_LEN:
        p.error(
            f"--max-positions must be at least {task.SEQ_LEN} (prompt, answer and EOS), "
            f"not {args.max_positions}"
        )
    return args


def lr_at(step, args):
    """Linear warm-up, then cosine decay to zero."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * 0.5 * (1.0 + math.cos(math.pi * progress))


def torch_accuracy(model, examples):
    """Greedy exact match of the torch model in eval mode (integer BitLinear products)."""
    was_training = model.training
    model.eval()

    def generate(prompts):
        ids = torch.tensor([task.encode(p) for p in prompts], dtype=torch.int64)
        out = model.generate_greedy(ids, task.LENGTH + 1)
        return [task.decode(row) for row in out.tolist()]

    acc = task.exact_match(generate, examples)
    model.train(was_training)
    return acc


def train(args):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    config = TrainConfig(
        vocab_size=len(task.VOCAB),
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
        max_position_embeddings=args.max_positions,
        rope_theta=args.rope_theta,
    )
    model = BitNetForCausalLM(config)
    ternary, floats = model.count_parameters()
    print(f"model: {config}", flush=True)
    print(f"parameters: {ternary} ternary + {floats} float", flush=True)

    decay = [p for n, p in model.named_parameters() if p.ndim == 2]
    no_decay = [p for n, p in model.named_parameters() if p.ndim < 2]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "weight_decay": args.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ],
        lr=args.lr,
        betas=(0.9, 0.98),
        eps=1e-8,
    )
    held_out = task.sample_examples(args.eval_examples, seed=task.EVAL_SEED, split="held-out")

    history = []
    started = time.monotonic()
    model.train()
    loss_sum, loss_count = 0.0, 0
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args)
        seqs = torch.from_numpy(task.sample_train_ids(rng, args.batch_size))
        inputs, targets = seqs[:, :-1], seqs[:, 1:]
        logits = model(inputs)
        # Learn only the answer and EOS: positions LENGTH .. end predict them.
        answer_logits = logits[:, task.LENGTH :]
        answer_targets = targets[:, task.LENGTH :]
        loss = F.cross_entropy(
            answer_logits.reshape(-1, config.vocab_size), answer_targets.reshape(-1)
        )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_sum += loss.item()
        loss_count += 1
        last = step + 1 == args.steps
        if (step + 1) % args.eval_every == 0 or last:
            acc = torch_accuracy(model, held_out)
            elapsed = time.monotonic() - started
            mean_loss = loss_sum / loss_count
            history.append(
                {
                    "step": step + 1,
                    "loss": round(mean_loss, 5),
                    "held_out_accuracy": acc,
                    "seconds": round(elapsed, 1),
                }
            )
            print(
                f"step {step + 1:5d}  loss {mean_loss:.4f}  lr {lr_at(step, args):.2e}  "
                f"held-out exact match {acc:.3f}  {elapsed:.0f} s",
                flush=True,
            )
            loss_sum, loss_count = 0.0, 0
    train_seconds = time.monotonic() - started
    return model, history, train_seconds, held_out


def _reachable(gamma):
    """Whether ``linear_class="bitlinear"`` can store ``gamma`` (as ``weight_scale = 1 / gamma``)."""
    return np.float32(1) / (np.float32(1) / gamma) == gamma


def ternarize(latent):
    """``golden.quantize_weights`` of a latent matrix, with a gamma the HF format can hold.

    HuggingFace's packed ``bitlinear`` checkpoints store ``weight_scale = 1 / gamma`` and the
    loader computes ``gamma = 1 / weight_scale``; about 1 in 6 float32 gammas is not the
    reciprocal of any float32, and ``golden.save_checkpoint`` refuses those. Absmean
    ternarization is scale-invariant, so such a matrix is multiplied by the smallest
    ``1 + k * 2**-23`` (k = 1, 2, ...) that makes its gamma storable and leaves every ternary
    weight as it was; the result is still exactly ``golden.quantize_weights`` of the
    (rescaled) latent matrix, and gamma moves by a few units in the last place.

    Returns ``(wq, gamma, k)``.
    """
    w = np.ascontiguousarray(latent, dtype=np.float32)
    wq, gamma = golden.quantize_weights(w)
    k = 0
    while not _reachable(gamma):
        k += 1
        w_k = w * np.float32(1 + k * 2.0**-23)
        wq_k, gamma_k = golden.quantize_weights(w_k)
        if np.array_equal(wq_k, wq):
            gamma = gamma_k
        if k > 64:
            raise RuntimeError("no storable gamma found within 64 ulps")
    return wq, gamma, k


def to_golden(model, tokenizer):
    """The golden ``BitNetModel`` of a trained torch model (ternarized with golden's quantizer).

    Returns ``(golden_model, rescaled)``: ``rescaled`` maps the projections whose latent
    matrix :func:`ternarize` had to rescale to their ``k``.
    """
    c = model.config
    config = golden.BitNetConfig(
        vocab_size=c.vocab_size,
        hidden_size=c.hidden_size,
        intermediate_size=c.intermediate_size,
        num_hidden_layers=c.num_hidden_layers,
        num_attention_heads=c.num_attention_heads,
        num_key_value_heads=c.num_key_value_heads,
        rms_norm_eps=c.rms_norm_eps,
        rope_theta=c.rope_theta,
        max_position_embeddings=c.max_position_embeddings,
        tie_word_embeddings=c.tie_word_embeddings,
        eos_token_id=task.VOCAB.index(task.EOS),
    )
    state = {name: t.detach().numpy() for name, t in model.state_dict().items()}
    params, rescaled = {}, {}
    for name, (_, kind) in golden.param_shapes(config).items():
        if kind == "float":
            params[name] = state[name].astype(np.float32)
        elif kind == "ternary":
            prefix = name[: -len(".weight")]
            params[name], params[f"{prefix}.gamma"], k = ternarize(state[name])
            if k:
                rescaled[prefix] = k
    return golden.BitNetModel(config, params, tokenizer=tokenizer), rescaled


def golden_accuracy(gmodel, examples):
    """Greedy exact match of the golden model, prompts encoded by its tokenizer."""
    tok = gmodel.tokenizer

    def generate(prompts):
        return [
            tok.decode(gmodel.generate(tok.encode(p), task.LENGTH + 1), skip_special_tokens=False)
            for p in prompts
        ]

    return task.exact_match(generate, examples)


def max_logit_difference(model, gmodel, examples):
    """Largest |torch eval logits - golden logits| over whole sequences, and the largest |logit|."""
    model.eval()
    seqs = task.encode_batch(examples)
    with torch.no_grad():
        ours = model(torch.from_numpy(seqs)).numpy()
    theirs = np.stack([gmodel(row) for row in seqs])
    return float(np.abs(ours - theirs).max()), float(np.abs(theirs).max())


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    model, history, train_seconds, held_out = train(args)
    torch_acc = history[-1]["held_out_accuracy"]
    print(
        f"trained in {train_seconds:.0f} s; torch held-out exact match {torch_acc:.4f}", flush=True
    )
    if args.no_export:
        return 0

    tokenizer = golden.Tokenizer(task.build_tokenizer())
    gmodel, rescaled = to_golden(model, tokenizer)
    if rescaled:
        print(f"rescaled latent weights for a storable gamma: {rescaled}", flush=True)
    t_eval = time.monotonic()
    golden_acc = golden_accuracy(gmodel, held_out)
    eval_seconds = time.monotonic() - t_eval
    diff, scale = max_logit_difference(model, gmodel, held_out[:64])
    print(
        f"golden held-out exact match {golden_acc:.4f} on {len(held_out)} problems "
        f"({eval_seconds:.1f} s); torch vs golden logits: max |diff| {diff:.2e} "
        f"(largest |logit| {scale:.1f})",
        flush=True,
    )

    out = args.out
    golden.save_checkpoint(gmodel, out, linear_class="bitlinear")
    reloaded = golden.load_checkpoint(out)
    for name, value in gmodel.params.items():
        if not np.array_equal(reloaded.params[name], value):
            raise RuntimeError(f"{out}: {name} does not load back unchanged")
    files = {
        f: os.path.getsize(out / f) for f in ("config.json", "model.safetensors", "tokenizer.json")
    }
    ternary, floats = model.count_parameters()
    record = {
        "task": {
            "name": task.NAME,
            "description": f"sort {task.LENGTH} decimal digits: prompt '<digits>=', answer the "
            f"digits in ascending order then EOS ('\\n')",
            "example": {"prompt": held_out[0].prompt, "completion": held_out[0].target},
            "held_out_rule": f"sha256(digits)[0] < {task.HELD_OUT_BYTES} (never trained on)",
            "eval_seed": task.EVAL_SEED,
            "eval_examples": len(held_out),
        },
        "command": "python -m training.train " + " ".join(sys.argv[1:] if argv is None else argv),
        "seed": args.seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "warmup": args.warmup,
        "weight_decay": args.weight_decay,
        "threads": args.threads,
        "model": model.config.to_dict(),
        "parameters": {"ternary": ternary, "float": floats},
        "accuracy": {"torch_held_out": torch_acc, "golden_held_out": golden_acc},
        "torch_vs_golden_max_logit_diff": diff,
        "rescaled_projections": rescaled,
        "seconds": {
            "train": round(train_seconds, 1),
            "golden_eval": round(eval_seconds, 1),
            "total": round(time.monotonic() - t0, 1),
        },
        "history": history,
        "file_bytes": files,
        "model_safetensors_sha256": hashlib.sha256(
            (out / "model.safetensors").read_bytes()
        ).hexdigest(),
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "numpy": np.__version__,
        },
    }
    with open(out / "training.json", "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    total = sum(files.values()) + os.path.getsize(out / "training.json")
    print(f"wrote {out} ({total} bytes) in {time.monotonic() - t0:.0f} s total", flush=True)
    if golden_acc < args.min_accuracy:
        print(
            f"golden accuracy {golden_acc:.4f} is below --min-accuracy {args.min_accuracy}",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
