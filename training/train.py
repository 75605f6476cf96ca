"""Train a small BitNet b1.58 model on one of two tasks and export it.

    python -m training.train --seed 0 --out models/sort-digits
    python -m training.train --task python-stdlib --seed 0 --out models/python-stdlib

Quantization-aware training from scratch (see training/README.md) on ``--task``:
``sort-digits`` (the default, :mod:`training.task`: sort six digits, scored by
exact match) or ``python-stdlib`` (:mod:`training.text_task`: next-character
prediction on the standard library's source, scored by held-out perplexity).
At the end the latent weights are ternarized with ``golden.quantize_weights``,
the model is rebuilt as a ``golden.BitNetModel``, its held-out score is
measured *in the golden model*, and the checkpoint is written with
``golden.save_checkpoint`` plus ``tokenizer.json`` and ``training.json``.
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

import golden
from training import task, text_task
from training.model_torch import BitNetForCausalLM, TrainConfig
from training.train_tasks import TASKS


#: Defaults of the options whose value depends on the task (the rest are shared).
TASK_DEFAULTS = {
    task.NAME: {
        "steps": 1500,
        "batch_size": 128,
        "warmup": 100,
        "hidden_size": 64,
        "intermediate_size": 128,
        "layers": 2,
        "heads": 4,
        "kv_heads": 4,
        "max_positions": 64,
        "eval_every": 250,
        "eval_examples": 500,
    },
    text_task.NAME: {
        "steps": 600,
        "batch_size": 32,
        "warmup": 100,
        "hidden_size": 256,
        "intermediate_size": 512,
        "layers": 4,
        "heads": 4,
        "kv_heads": 4,
        "max_positions": text_task.CONTEXT,
        "eval_every": 100,
        "eval_examples": text_task.EVAL_WINDOWS,
    },
}


def _default(name):
    return ", ".join(f"{values[name]} for {t}" for t, values in TASK_DEFAULTS.items())


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        prog="python -m training.train",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--task", choices=tuple(TASK_DEFAULTS), default=task.NAME,
        help="sort-digits (default) or python-stdlib; the defaults of the options marked "
             "'by task' follow it",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the initialization and the data order"
    )
    p.add_argument("--steps", type=int, help=f"optimizer steps (by task: {_default('steps')})")
    p.add_argument("--batch-size", type=int,
                   help=f"sequences per step (by task: {_default('batch_size')})")
    p.add_argument("--lr", type=float, default=3e-3, help="peak learning rate")
    p.add_argument("--warmup", type=int,
                   help=f"linear warm-up steps (by task: {_default('warmup')})")
    p.add_argument("--weight-decay", type=float, default=0.05)
    p.add_argument("--hidden-size", type=int, help=f"by task: {_default('hidden_size')}")
    p.add_argument("--intermediate-size", type=int,
                   help=f"by task: {_default('intermediate_size')}")
    p.add_argument("--layers", type=int, help=f"by task: {_default('layers')}")
    p.add_argument("--heads", type=int, help=f"by task: {_default('heads')}")
    p.add_argument("--kv-heads", type=int, help=f"by task: {_default('kv_heads')}")
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--max-positions", type=int,
                   help="max_position_embeddings, the rotary table size (by task: "
                        f"{_default('max_positions')}); sort-digits needs at least 14 and "
                        "defaults to 64 so that demos can generate past the trained length; "
                        "python-stdlib trains on windows of this many characters")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the model is too small to gain from more, and two "
        "threads on two busy cores run up to 25 times slower; results depend on this number)",
    )
    p.add_argument("--eval-every", type=int,
                   help=f"steps between held-out evaluations (by task: {_default('eval_every')})")
    p.add_argument("--eval-examples", type=int,
                   help="held-out problems (sort-digits) or windows (python-stdlib) evaluated "
                        f"(by task: {_default('eval_examples')})")
    p.add_argument(
        "--min-accuracy", type=float, default=0.95,
        help="sort-digits: fail below this golden accuracy",
    )
    p.add_argument(
        "--max-perplexity", type=float, default=10.0,
        help="python-stdlib: fail above this golden held-out perplexity per character",
    )
    p.add_argument("--out", type=Path, help="checkpoint folder (default models/<task>)")
    p.add_argument("--no-export", action="store_true", help="train and evaluate in torch only")
    args = p.parse_args(argv)
    for name, value in TASK_DEFAULTS[args.task].items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if args.out is None:
        args.out = Path("models") / args.task
    for name in ("steps", "batch_size", "eval_every", "eval_examples", "threads"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1, not {getattr(args, name)}")
    if args.task == task.NAME and args.max_positions < task.SEQ_LEN:
        p.error(
            f"--max-positions must be at least {task.SEQ_LEN} (prompt, answer and EOS), "
            f"not {args.max_positions}"
        )
    if args.task == text_task.NAME and args.max_positions < 2:
        p.error(f"--max-positions must be at least 2, not {args.max_positions}")
    return args


def lr_at(step, args):
    """Linear warm-up, then cosine decay to zero."""
    if step < args.warmup:
        return args.lr * (step + 1) / args.warmup
    progress = (step - args.warmup) / max(1, args.steps - args.warmup)
    return args.lr * 0.5 * (1.0 + math.cos(math.pi * progress))




def train(args, job):
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)

    config = TrainConfig(
        vocab_size=len(job.module.VOCAB),
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

    history = []
    started = time.monotonic()
    model.train()
    loss_sum, loss_count = 0.0, 0
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step, args)
        seqs = job.batch(rng, args.batch_size)
        inputs, targets = seqs[:, :-1], seqs[:, 1:]
        loss = job.loss(model(inputs), targets)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        loss_sum += loss.item()
        loss_count += 1
        last = step + 1 == args.steps
        if (step + 1) % args.eval_every == 0 or last:
            fields, line = job.evaluate(model)
            elapsed = time.monotonic() - started
            mean_loss = loss_sum / loss_count
            history.append(
                {"step": step + 1, "loss": round(mean_loss, 5), **fields,
                 "seconds": round(elapsed, 1)}
            )
            print(
                f"step {step + 1:5d}  loss {mean_loss:.4f}  lr {lr_at(step, args):.2e}  "
                f"{line}  {elapsed:.0f} s",
                flush=True,
            )
            loss_sum, loss_count = 0.0, 0
    train_seconds = time.monotonic() - started
    return model, history, train_seconds


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


def to_golden(model, tokenizer, module=task):
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
        eos_token_id=module.VOCAB.index(module.EOS),
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


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    load_start = os.getloadavg()
    job = TASKS[args.task](args)
    model, history, train_seconds = train(args, job)
    torch_score, line = job.trained(history)
    print(f"trained in {train_seconds:.0f} s; {line}", flush=True)
    if args.no_export:
        return 0

    tokenizer = golden.Tokenizer(job.module.build_tokenizer())
    gmodel, rescaled = to_golden(model, tokenizer, job.module)
    if rescaled:
        print(f"rescaled latent weights for a storable gamma: {rescaled}", flush=True)
    t_eval = time.monotonic()
    golden_score = job.golden_score(gmodel)
    eval_seconds = time.monotonic() - t_eval
    diff, scale = job.logit_difference(model, gmodel)
    print(
        f"{job.describe_golden(golden_score, eval_seconds)}; torch vs golden logits: max |diff| "
        f"{diff:.2e} (largest |logit| {scale:.1f})",
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
        "task": job.record(args),
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
        job.score: job.scores(torch_score, golden_score),
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
    if args.task != task.NAME:
        # The machine's load beside the run (1-minute averages), as its wall times depend on it.
        record["machine"] = {
            "cpus": os.cpu_count(),
            "load_average_1min_at_start": round(load_start[0], 2),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        }
    with open(out / "training.json", "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2)
        handle.write("\n")
    total = sum(files.values()) + os.path.getsize(out / "training.json")
    print(f"wrote {out} ({total} bytes) in {time.monotonic() - t0:.0f} s total", flush=True)
    failure = job.failure(golden_score, args)
    if failure:
        print(failure, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
