"""Amaranth description of the ternary weight-stationary array accelerator.

Start at :class:`TernaryAccelerator` (the top level) and :class:`AccelConfig` (every parameter
and derived width, and the exact cycle model).
"""

from .config import AccelConfig, ConfigError, psum_width
from .pe import TernaryCode, TernaryPE
from .array import SystolicArray, SystolicColumn
from .decoder import WeightDecoder
from .accumulator import Accumulator
from .skew import SkewBuffer
from .result_queue import ResultQueue
from .command import JobControl, command_layout
from .tile_counter import TileCounter
from .weight_store import WeightStore
from .feeder import ActivationFeeder
from .delay_line import DelayLine
from .drain import ResultDrain
from .top import TernaryAccelerator

__all__ = ["AccelConfig", "ConfigError", "psum_width", "TernaryCode", "TernaryPE",
           "SystolicArray", "SystolicColumn", "WeightDecoder", "WeightStore", "Accumulator",
           "SkewBuffer", "ResultQueue", "JobControl", "command_layout", "TileCounter",
           "ActivationFeeder", "DelayLine", "ResultDrain", "TernaryAccelerator"]
