"""The emitted Verilog passes ``verilator --lint-only -Wall`` with no errors and no warnings
outside the classes waived in ``docs/lint.md`` (each an idiom of Amaranth's Verilog back end,
not of the design).
"""

import subprocess

import pytest

from gen.emit import emit_verilog
from rtl.config import AccelConfig

from .build import verilator_environment

#: Warning classes waived for generated code; the reasons are in docs/lint.md.
WAIVED = ("DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL", "WIDTHEXPAND", "WIDTHTRUNC")

CONFIGS = [AccelConfig(rows=4, cols=3), AccelConfig(rows=3, cols=7, weight_format="t5"),
           AccelConfig(rows=1, cols=1, acc_bits=20, max_k=1000), AccelConfig(rows=16, cols=5)]


def _lint(path, top, extra=()):
    verilator_environment()
    command = ["verilator", "--lint-only", "-Wall", *extra, "--top-module", top, str(path)]
    return subprocess.run(command, capture_output=True, text=True)


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"{c.rows}x{c.cols}-{c.format.name}")
def test_lint_clean_with_documented_waivers(config, tmp_path):
    path = tmp_path / f"{config.name}.v"
    path.write_text(emit_verilog(config))
    result = _lint(path, config.name, [f"-Wno-{name}" for name in WAIVED])
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_waivers_are_all_needed(tmp_path):
    """Every waived class does occur (a stale waiver would hide nothing and mislead)."""
    config = CONFIGS[0]
    path = tmp_path / f"{config.name}.v"
    path.write_text(emit_verilog(config))
    result = _lint(path, config.name)
    for name in WAIVED:
        assert f"%Warning-{name}:" in result.stderr, f"{name} no longer occurs; drop its waiver"
