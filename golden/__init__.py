"""NumPy golden model of the ternary accelerator: the single source of numerics.

Everything else (RTL, cosimulation, driver, transformer model) is checked
against these functions; see ``docs/numerics.md`` for the full contract.

Numeric contract of one BitLinear layer (all floating-point steps float32,
round to nearest even)
    1. Weights, offline (:func:`quantize_weights`):
       ``gamma = max(mean(|W|), 1e-5)``, ``Wq = clip(rint(W / gamma), -1, 1)``.
    2. Activations, per token (:func:`quantize_activations`):
       ``s = 127 / max(max(|x|), 1e-5)`` over the last axis,
       ``Xq = clip(rint(x * s), -128, 127)``.
    3. Integer GEMM (:func:`int_gemm`), the accelerator's job:
       ``Y[m, n] = sum_k Xq[m, k] * Wq[n, k]``, exact, int32.
    4. Dequantization (:func:`dequantize`): ``(float32(Y) / s) * gamma``,
       in exactly that order.

``rint`` rounds half to even (like ``torch.round``). :func:`bitlinear`
chains steps 2 to 4 and accepts any ``gemm`` callable, so the hardware can
stand in for :func:`int_gemm`.

Packed weight formats (:mod:`golden.formats`, the table; :mod:`golden.packing`)
    ``i2`` (HuggingFace checkpoint, :func:`pack_i2`), ``i2`` lanes (hardware
    SRAM, 4 weights per byte little-endian, :func:`pack_i2_lanes`) and ``t5``
    (hardware SRAM, 5 weights per byte in base 3, :func:`pack_t5`); hardware
    words are little-endian byte vectors (:func:`bytes_to_int`).

Memory images (:mod:`golden.memory_image`)
    :func:`weight_image` lays a projection's weights out as the bytes an
    accelerator's weight port reads, beat after beat (``docs/interface.md``,
    *The memory image*); :func:`write_checkpoint_image` does every projection.

Argument checks (:mod:`golden.checks`)
    :func:`check_int8` and :func:`check_ternary` raise the same messages here
    and in the hardware driver.
"""

from golden.checks import check_int8, check_ternary
from golden.formats import FORMATS, WEIGHT_FORMATS, WeightFormat, packed_bits, weight_format
from golden.gemm import MAX_K, gemm_bound, int8_gemm, int_gemm
from golden.packing import (
    I2_BITS_PER_WEIGHT,
    I2_WEIGHTS_PER_BYTE,
    T5_MAX_BYTE,
    T5_WEIGHTS_PER_BYTE,
    pack_i2,
    pack_i2_lanes,
    pack_t5,
    unpack_i2,
    unpack_i2_lanes,
    unpack_t5,
)
from golden.quant import EPS, bitlinear, dequantize, quantize_activations, quantize_weights
from golden.words import bytes_to_int, int_to_bytes

__all__ = [
    # quantizers and the layer
    "EPS",
    "quantize_weights",
    "quantize_activations",
    "dequantize",
    "bitlinear",
    # integer GEMM
    "MAX_K",
    "gemm_bound",
    "int_gemm",
    "int8_gemm",
    # argument checks
    "check_int8",
    "check_ternary",
    # packed formats
    "I2_BITS_PER_WEIGHT",
    "I2_WEIGHTS_PER_BYTE",
    "T5_WEIGHTS_PER_BYTE",
    "T5_MAX_BYTE",
    "FORMATS",
    "WeightFormat",
    "weight_format",
    "WEIGHT_FORMATS",
    "packed_bits",
    "pack_i2",
    "unpack_i2",
    "pack_i2_lanes",
    "unpack_i2_lanes",
    "pack_t5",
    "unpack_t5",
    # hardware words
    "bytes_to_int",
    "int_to_bytes",
    # memory images
    "ALIGNMENT",
    "ImageEntry",
    "tile_order",
    "beat_bytes",
    "weight_image",
    "image_weights",
    "port_images",
    "activation_image",
    "image_results",
    "write_checkpoint_image",
]

# The BitNet b1.58 transformer, its checkpoints and tokenizer (see docs/model.md).
from golden.checkpoint import (LINEAR_CLASSES, CheckpointError, load_checkpoint, save_checkpoint,
                               save_checkpoint_shards)
from golden.config import BitNetConfig, param_shapes, projection_names, random_params
from golden.model import BitNetModel, KVCache
from golden.tokenizer import Tokenizer
from golden.memory_image import (ALIGNMENT, ImageEntry, activation_image, beat_bytes,
                                 image_results, image_weights, port_images, tile_order,
                                 weight_image, write_checkpoint_image)

__all__ += [
    # transformer
    "BitNetConfig",
    "BitNetModel",
    "KVCache",
    "param_shapes",
    "projection_names",
    "random_params",
    # checkpoints and text
    "CheckpointError",
    "LINEAR_CLASSES",
    "load_checkpoint",
    "save_checkpoint",
    "save_checkpoint_shards",
    "Tokenizer",
]
