"""Verilog generator: ``python -m gen --rows 64 --cols 64`` (see :mod:`gen.cli`)."""

from .emit import GENERATOR_VERSION, build_manifest, emit_verilog, generate, top_ports

__all__ = ["GENERATOR_VERSION", "build_manifest", "emit_verilog", "generate", "top_ports"]
