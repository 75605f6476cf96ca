"""Amaranth description of the ternary systolic-array accelerator.

Start at :class:`TernaryAccelerator` (the top level) and :class:`AccelConfig` (every parameter
and derived width, and the exact cycle model).
"""

from .config import AccelConfig, ConfigError, psum_width
from .pe import TernaryCode, TernaryPE
from .array import SystolicArray, SystolicColumn
from .decoder import WeightDecoder
from .weight_buffer import WeightBuffer
from .accumulator import Accumulator
from .skew import SkewBuffer
from .top import TernaryAccelerator

__all__ = ["AccelConfig", "ConfigError", "psum_width", "TernaryCode", "TernaryPE",
           "SystolicArray", "SystolicColumn", "WeightDecoder", "WeightBuffer", "Accumulator",
           "SkewBuffer", "TernaryAccelerator"]
