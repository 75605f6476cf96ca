"""A BitNet b1.58 2B-4T-shaped checkpoint with random ternary weights, written shard by shard.

    python -m golden.synthetic OUTPUT_FOLDER [--seed 0] [--layers 30]

writes a HuggingFace checkpoint folder with the configuration of ``microsoft/bitnet-b1.58-2B-4T``
(:data:`BITNET_2B_4T_CONFIG`) and seeded random weights, through
:func:`golden.save_checkpoint_shards`: one shard for the embedding and final norm, then one
per layer, each generated, packed and written before the next, so memory holds one layer
(plus the 1.3 GB embedding while it is written). The folder (about 1.8 GB: 0.52 GB of packed
ternary weights, 1.31 GB for the float32 embedding the real model keeps in bfloat16) loads
with :func:`golden.load_checkpoint`, the loader of a real checkpoint. ``--layers`` keeps the
real widths with fewer layers. Never commit the folder.

The weights have the real shapes and are ternary, uniform over {-1, 0, +1}; each projection's
``weight_scale`` is ``s = u * sqrt(in_features)``, ``u`` uniform in [0.8, 1.25), so a layer
roughly keeps the size of its input (the loaded ``gamma`` is ``float32(1) / s``, as
``linear_class = "bitlinear"`` of the real checkpoint reads it). The embedding is standard
normal, the norm weights uniform in [0.5, 1.5). The same seed gives the same files.
:func:`shards` is the generator, :func:`write_checkpoint` the writer; the tests run both on a
scaled-down configuration of the same structure.
"""

import json
import pathlib
import sys

import numpy as np

from golden.checkpoint import save_checkpoint_shards
from golden.checks import check_count
from golden.cli import OneLineParser, check_output_folder, integer_range, run_cli
from golden.config import BitNetConfig, param_shapes

__all__ = ["CONFIG_PATH", "BITNET_2B_4T_CONFIG", "shards", "write_checkpoint"]

#: The shipped ``config.json`` of ``microsoft/bitnet-b1.58-2B-4T`` (the fields of the
#: published file), :data:`CONFIG_PATH`.
CONFIG_PATH = pathlib.Path(__file__).parent / "configs" / "bitnet-b1.58-2B-4T.json"
BITNET_2B_4T_CONFIG = json.loads(CONFIG_PATH.read_text())


def _layer_names(shapes, layer):
    prefix = f"model.layers.{layer}."
    return [name for name in shapes if name.startswith(prefix)]


def shards(config, *, seed=0):
    """Yield the params of a random checkpoint of ``config``, one shard at a time: first the
    embedding, the final norm and an untied ``lm_head`` (if any), then each layer's norms,
    ternary projection weights (int8) and gammas.

    Parameters
    ----------
    config : BitNetConfig
    seed : int, keyword-only
        Seed of ``numpy.random.default_rng``; layer ``i`` draws from the generator spawned
        for it, so a shard does not depend on the others.

    Raises
    ------
    TypeError
        ``"config must be a BitNetConfig, not dict"``, ``"seed must be an integer, not str"``.
    ValueError
        ``"seed must be a non-negative integer, not -1"``.
    """
    if not isinstance(config, BitNetConfig):
        raise TypeError(f"config must be a BitNetConfig, not {type(config).__name__}")
    generators = np.random.default_rng(check_count(seed, "seed")).spawn(
        config.num_hidden_layers + 1)
    return _shards(config, generators)


def _shards(config, generators):
    shapes = param_shapes(config)
    rng = generators[0]
    first = {"model.embed_tokens.weight": rng.standard_normal(
        shapes["model.embed_tokens.weight"][0], dtype=np.float32)}
    first["model.norm.weight"] = _norm(rng, shapes["model.norm.weight"][0])
    if "lm_head.weight" in shapes:
        first["lm_head.weight"] = rng.standard_normal(shapes["lm_head.weight"][0],
                                                      dtype=np.float32)
        first["lm_head.weight"] *= np.float32(config.hidden_size ** -0.5)
    yield first
    del first
    for layer in range(config.num_hidden_layers):
        rng, shard = generators[layer + 1], {}
        for name in _layer_names(shapes, layer):
            shape, kind = shapes[name]
            if kind == "float":
                shard[name] = _norm(rng, shape)
            elif kind == "ternary":
                shard[name] = rng.integers(-1, 2, shape, dtype=np.int8)
                scale = np.float32(rng.uniform(0.8, 1.25) * np.sqrt(shape[1]))
                shard[name[:-len("weight")] + "gamma"] = np.float32(1) / scale
        yield shard


def _norm(rng, shape):
    return rng.uniform(0.5, 1.5, shape).astype(np.float32)


def write_checkpoint(folder, config=None, *, seed=0):
    """Write the random checkpoint of ``config`` (default: 2B-4T's) to ``folder`` with
    ``linear_class="bitlinear"``, as the real checkpoint; return the :class:`BitNetConfig`.

    Raises
    ------
    TypeError, ValueError
        Those of :func:`shards` and of :func:`golden.save_checkpoint_shards`.
    """
    if config is None:
        config = BitNetConfig.from_dict(BITNET_2B_4T_CONFIG)
    generated = shards(config, seed=seed)
    linear_class = BITNET_2B_4T_CONFIG["quantization_config"]["linear_class"]
    save_checkpoint_shards(config, generated, folder, linear_class=linear_class)
    return config


PROG = "python -m golden.synthetic"


def main(argv=None):
    """``python -m golden.synthetic OUTPUT_FOLDER [--seed N] [--layers N]``; returns the exit
    status (2 with one line on stderr for bad arguments)."""
    return run_cli(PROG, _run, argv)


def _run(argv):
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="output checkpoint folder (created; never commit it)")
    parser.add_argument("--seed", type=integer_range(0, 2**63 - 1), default=0)
    parser.add_argument("--layers", type=integer_range(1, 30), default=30,
                        help="keep the first N of the 30 layers (default 30)")
    args = parser.parse_args(argv)
    check_output_folder(args.folder)
    config = BitNetConfig.from_dict(dict(BITNET_2B_4T_CONFIG, num_hidden_layers=args.layers))
    write_checkpoint(args.folder, config, seed=args.seed)
    print(f"wrote {args.folder}: {config.num_hidden_layers} layers, hidden {config.hidden_size}, "
          f"vocabulary {config.vocab_size}")


if __name__ == "__main__":
    sys.exit(main())
