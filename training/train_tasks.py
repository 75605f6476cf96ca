"""What ``python -m training.train`` does differently for each task (``--task``).

A task is a class built from the parsed arguments, with

* ``module``: the task's pure-NumPy module (:mod:`training.task` or
  :mod:`training.text_task`), for ``VOCAB``, ``EOS`` and ``build_tokenizer``;
* ``score``: the name of its figure in ``training.json`` (``"accuracy"``, ``"perplexity"``);
* ``batch(rng, n)``: ``n`` training sequences, int64 tensor ``[n, L]``, drawn by the NumPy
  generator ``rng`` (the model reads ``[:, :-1]`` and is scored on ``[:, 1:]``);
* ``loss(logits, targets)``: the training loss;
* ``evaluate(model)``: ``(fields of the history entry, text of the progress line)`` of the
  torch model on the fixed held-out set; ``trained(history)``: ``(torch figure, text)``;
* ``golden_score(gmodel)``, ``logit_difference(model, gmodel)`` (largest torch vs golden logit
  difference, largest logit) and ``describe_golden(score, seconds)`` at export;
* ``record(args)``: the ``task`` entry of ``training.json``; ``scores(torch, golden)``: its
  figures; ``failure(golden, args)``: the reason to exit with status 1, or None.
"""

import math

import numpy as np
import torch
import torch.nn.functional as F

from training import task, text_task

__all__ = ["TASKS", "SortDigits", "PythonStdlib", "torch_accuracy", "torch_logits",
           "golden_accuracy", "golden_window_logits", "max_logit_difference"]


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


def torch_logits(model, windows, chunk=8):
    """Eval-mode logits of the torch model for every position of ``windows[:, :-1]``, float32
    NumPy ``[n, length - 1, vocab]`` (``chunk`` windows at a time)."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        out = [
            model(torch.from_numpy(windows[i : i + chunk, :-1])).numpy()
            for i in range(0, len(windows), chunk)
        ]
    model.train(was_training)
    return np.concatenate(out)


def golden_window_logits(gmodel, windows):
    """Golden logits for every position of ``windows[:, :-1]``, float32
    ``[n, length - 1, vocab]``."""
    return np.stack([gmodel(row[:-1]) for row in windows])


class SortDigits:
    """The digit sorter (:mod:`training.task`): loss on the answer, scored by exact match."""

    module = task
    score = "accuracy"

    def __init__(self, args):
        self.held_out = task.sample_examples(
            args.eval_examples, seed=task.EVAL_SEED, split="held-out"
        )

    def batch(self, rng, n):
        return torch.from_numpy(task.sample_train_ids(rng, n))

    def loss(self, logits, targets):
        # Learn only the answer and EOS: positions LENGTH .. end predict them.
        answer_logits = logits[:, task.LENGTH :]
        answer_targets = targets[:, task.LENGTH :]
        return F.cross_entropy(
            answer_logits.reshape(-1, logits.shape[-1]), answer_targets.reshape(-1)
        )

    def evaluate(self, model):
        acc = torch_accuracy(model, self.held_out)
        return {"held_out_accuracy": acc}, f"held-out exact match {acc:.3f}"

    def trained(self, history):
        acc = history[-1]["held_out_accuracy"]
        return acc, f"torch held-out exact match {acc:.4f}"

    def golden_score(self, gmodel):
        return golden_accuracy(gmodel, self.held_out)

    def logit_difference(self, model, gmodel):
        return max_logit_difference(model, gmodel, self.held_out[:64])

    def describe_golden(self, score, seconds):
        return f"golden held-out exact match {score:.4f} on {len(self.held_out)} problems " \
               f"({seconds:.1f} s)"

    def record(self, args):
        return {
            "name": task.NAME,
            "description": f"sort {task.LENGTH} decimal digits: prompt '<digits>=', answer the "
            f"digits in ascending order then EOS ('\\n')",
            "example": {"prompt": self.held_out[0].prompt, "completion": self.held_out[0].target},
            "held_out_rule": f"sha256(digits)[0] < {task.HELD_OUT_BYTES} (never trained on)",
            "eval_seed": task.EVAL_SEED,
            "eval_examples": len(self.held_out),
        }

    def scores(self, torch_score, golden_score):
        return {"torch_held_out": torch_score, "golden_held_out": golden_score}

    def failure(self, golden_score, args):
        if golden_score < args.min_accuracy:
            return f"golden accuracy {golden_score:.4f} is below --min-accuracy {args.min_accuracy}"
        return None


class PythonStdlib:
    """Next-character prediction on the standard library's source (:mod:`training.text_task`):
    loss on every position of random windows, scored by held-out perplexity per character."""

    module = text_task
    score = "perplexity"

    def __init__(self, args):
        self.corpus = text_task.load_corpus()
        self.length = args.max_positions + 1
        self.windows = text_task.eval_windows(
            self.corpus.held_out_ids, args.eval_examples, self.length
        )

    def batch(self, rng, n):
        windows = text_task.sample_windows(self.corpus.train_ids, rng, n, self.length)
        return torch.from_numpy(windows)

    def loss(self, logits, targets):
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))

    def evaluate(self, model):
        nll = text_task.mean_nll(torch_logits(model, self.windows), self.windows[:, 1:])
        return (
            {"held_out_loss": round(nll, 5), "held_out_perplexity": round(math.exp(nll), 4)},
            f"held-out loss {nll:.4f} perplexity {math.exp(nll):.3f}",
        )

    def trained(self, history):
        perplexity = history[-1]["held_out_perplexity"]
        return perplexity, f"torch held-out perplexity {perplexity:.4f}"

    def golden_score(self, gmodel):
        logits = golden_window_logits(gmodel, self.windows)
        return math.exp(text_task.mean_nll(logits, self.windows[:, 1:]))

    def logit_difference(self, model, gmodel):
        ours = torch_logits(model, self.windows[:8])
        theirs = golden_window_logits(gmodel, self.windows[:8])
        return float(np.abs(ours - theirs).max()), float(np.abs(theirs).max())

    def describe_golden(self, score, seconds):
        return f"golden held-out perplexity {score:.4f} on {len(self.windows)} windows " \
               f"({seconds:.1f} s)"

    def record(self, args):
        return {
            "name": text_task.NAME,
            "description": "next character of the Python standard library's .py files "
            "(training.text_task), loss on every position of random windows of the train text",
            "corpus": self.corpus.summary(),
            "held_out_rule": f"sha256(relative path)[0] < {text_task.HELD_OUT_BYTES} "
            "(those files are never trained on)",
            "context": args.max_positions,
            "eval_seed": text_task.EVAL_SEED,
            "eval_windows": len(self.windows),
        }

    def scores(self, torch_score, golden_score):
        return {"torch_held_out": torch_score, "golden_held_out": round(golden_score, 4)}

    def failure(self, golden_score, args):
        if not golden_score <= args.max_perplexity:
            return f"golden held-out perplexity {golden_score:.4f} is above --max-perplexity " \
                   f"{args.max_perplexity}"
        return None


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


TASKS = {task.NAME: SortDigits, text_task.NAME: PythonStdlib}
