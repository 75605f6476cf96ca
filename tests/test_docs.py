"""The commands and code in README.md and docs/ run as written.

A fenced block is checked when the line just before its opening fence is a marker comment:

``<!-- runnable -->``
    ``sh`` blocks run with ``bash -euo pipefail``, ``python`` blocks with the project's Python,
    in a fresh folder that holds a link to the repository's ``models/`` (so relative paths
    such as ``models/sort-digits`` work and outputs land in the scratch folder). A line
    ``# prints TEXT`` in the block (a comment after a command) requires ``TEXT`` in the
    block's standard output.
``<!-- checked: names -->``
    ``python`` blocks that need software this project does not install (LiteX, vendor tools):
    compiled, and every name they read must be imported, defined or a builtin.

Blocks without a marker are prose (diagrams, formulas, listings) or need a checkpoint or a
tool that is not here; the test lists every block so that a new command is a conscious choice.
"""

import ast
import builtins
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MARKER = re.compile(r"<!--\s*(runnable|checked: names)\s*-->")
FENCE = re.compile(r"^```(\S*)")
#: Seconds one block may take; the transformer co-simulation builds a 16x16 simulator once.
TIMEOUT = 900


def blocks(path):
    """``(line, language, marker or None, text)`` of every fenced block of ``path``."""
    found, lines = [], path.read_text().splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        previous = lines[index - 1].strip() if index else ""
        marker = MARKER.fullmatch(previous)
        end = index + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        found.append((index + 1, opening.group(1), marker and marker.group(1),
                      "\n".join(lines[index + 1:end]) + "\n"))
        index = end + 1
    return found


def _cases(kind):
    for path in DOCUMENTS:
        for line, language, marker, text in blocks(path):
            if marker == kind:
                yield pytest.param(language, text, id=f"{path.relative_to(ROOT)}:{line}")


def test_markers_are_on_code_blocks():
    """A marker must sit right before an ``sh`` or ``python`` fence (a typo would silently
    skip a block)."""
    for path in DOCUMENTS:
        lines = path.read_text().splitlines()
        for number, line in enumerate(lines):
            if MARKER.search(line):
                following = lines[number + 1] if number + 1 < len(lines) else ""
                assert re.match(r"^```(sh|python)\s*$", following), \
                    f"{path.relative_to(ROOT)}:{number + 1}: marker not followed by a code fence"


def test_some_blocks_are_checked():
    assert len(list(_cases("runnable"))) >= 5


def _expected_output(text):
    return [match.group(1).strip() for match in re.finditer(r"#\s*prints\s+(.+)$", text, re.M)]


@pytest.mark.parametrize("language, text", list(_cases("runnable")))
def test_runnable_block(language, text, tmp_path):
    (tmp_path / "models").symlink_to(ROOT / "models")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    environment.pop("CI", None)
    if language == "sh":
        command = ["bash", "-euo", "pipefail", "-c", text]
    elif language == "python":
        command = [sys.executable, "-c", text]
    else:
        pytest.fail(f"runnable block of language {language!r}: only sh and python run")
    bin_folder = pathlib.Path(sys.executable).parent
    environment["PATH"] = f"{bin_folder}{os.pathsep}{environment.get('PATH', '')}"
    done = subprocess.run(command, cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, \
        f"exit {done.returncode}\n--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
    for expected in _expected_output(text):
        assert expected in done.stdout, f"{expected!r} not printed; stdout:\n{done.stdout[-3000:]}"


def _unbound_names(text):
    """Names a module reads at any level that nothing in it binds and that are not builtins."""
    tree = ast.parse(text)
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            if not isinstance(node, ast.ClassDef):
                arguments = node.args
                for argument in (*arguments.posonlyargs, *arguments.args,
                                 *arguments.kwonlyargs, arguments.vararg, arguments.kwarg):
                    if argument is not None:
                        bound.add(argument.arg)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.comprehension):
            for target in ast.walk(node.target):
                if isinstance(target, ast.Name):
                    bound.add(target.id)
    return sorted({node.id for node in ast.walk(tree)
                   if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
                   and node.id not in bound})


def test_unbound_names_are_found():
    assert _unbound_names("import a\nclass B(Module):\n    x = a.y(z)\n") == ["Module", "z"]
    assert _unbound_names("def f(p, *q):\n    return [i for i in p] + list(q)\n") == []


@pytest.mark.parametrize("language, text", list(_cases("checked: names")))
def test_names_block(language, text):
    assert language == "python", f"only python blocks can be name-checked, not {language!r}"
    compile(text, "<doc block>", "exec")
    assert _unbound_names(text) == [], "names used but never imported or defined"
