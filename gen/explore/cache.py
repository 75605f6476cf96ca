"""Synthesis results kept between sweeps, so that a re-run or an extended sweep only
synthesizes the points it has not seen.

The key of a point (:func:`cache_key`) hashes everything that decides its synthesis result:
the configuration (its :attr:`~rtl.config.AccelConfig.digest` and resolved parameters), the
SHA-256 of the generated Verilog (an RTL change with the same configuration is a new point),
the target, the flow's options (place and route, device, nextpnr's target frequency, DSP
inference), the versions of the tools the point runs (:func:`point_tools`) and the report's
schema. The per-run timeout is
not in the key: an entry that timed out is reused only by a sweep whose timeout is no longer
(:func:`reusable`); every other entry, a failure included, is reused as it is.

An entry is one JSON file ``<key>.json`` in the cache folder, written through a temporary
file and a rename, so a sweep stopped half-way leaves whole entries only.
"""

import hashlib
import importlib.metadata
import json
import os
import pathlib

from ..synth import REPORT_SCHEMA
from ..synth.tools import TOOLS


__all__ = ["point_tools", "cache_key", "Cache", "reusable"]


def point_tools(target, pnr):
    """The tools a point's synthesis runs, as ``{package: version}``: yosys, the target's
    nextpnr with place and route, and the WebAssembly runtime (``None`` for a package that is
    not installed); a tool replaced by a native binary (``TERNARY_ACCEL_YOSYS`` ...) is keyed
    by that command instead. Only these, so that installing a tool for another target does
    not invalidate the cache."""
    wanted = ["yosys"] + ([f"nextpnr-{target}"] if pnr else [])
    found = {}
    for tool in wanted:
        _, package, variable = TOOLS[tool]
        override = os.environ.get(variable, "").strip()
        found[package] = f"command: {override}" if override else _version(package)
    for package in ("yowasp-runtime", "wasmtime"):
        found[package] = _version(package)
    return found


def _version(package):
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def cache_key(config, verilog, target, options, tools):
    """The hex SHA-256 key of a point: ``config`` (AccelConfig), ``verilog`` (its text),
    ``target``, ``options`` (a JSON-able dict of the flow's options), ``tools`` (the tools'
    versions, :func:`point_tools`)."""
    identity = {
        "digest": config.digest,
        "config": config.as_dict(),
        "verilog_sha256": hashlib.sha256(verilog.encode()).hexdigest(),
        "target": target,
        "options": options,
        "tools": tools,
        "schema": REPORT_SCHEMA,
    }
    text = json.dumps(identity, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def reusable(entry, timeout):
    """Whether a cached ``entry`` answers a sweep whose tool runs may take ``timeout``
    seconds: always, unless it timed out under a shorter timeout."""
    return entry.get("status") != "timeout" or entry.get("timeout", 0) >= timeout


class Cache:
    """The entries in ``folder`` (created on the first :meth:`put`)."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)

    def path(self, key):
        return self.folder / f"{key}.json"

    def get(self, key):
        """The entry of ``key``, or ``None`` (also for an unreadable entry, which a new run
        then replaces)."""
        try:
            return json.loads(self.path(key).read_text())
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None

    def put(self, key, entry):
        """Store ``entry`` (a JSON-able dict) under ``key``."""
        self.folder.mkdir(parents=True, exist_ok=True)
        temporary = self.folder / f".{key}.{os.getpid()}.partial"
        temporary.write_text(json.dumps(entry, indent=1, sort_keys=True) + "\n")
        os.replace(temporary, self.path(key))
