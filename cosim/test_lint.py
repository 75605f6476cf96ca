"""The emitted Verilog passes ``verilator --lint-only -Wall`` with no errors and no warnings
outside the waivers of ``docs/lint.md``: three whole classes that are idioms of Amaranth's
Verilog back end, and the width idioms of yosys' Verilog writer, waived by message pattern in
``cosim/waivers.vlt``. Width warnings on ports stay live: a column wired to a PE of another
width is reported.
"""

import fnmatch
import pathlib
import re
import subprocess

import pytest

from gen.emit import emit_module
from gen.emit import emit_verilog
from rtl.array import SystolicColumn, column_module_name, make_pe, pe_module_name, pe_variants
from rtl.config import AccelConfig

from .build import verilator_environment

#: Warning classes waived whole for generated code; the reasons are in docs/lint.md.
WAIVED = ("DECLFILENAME", "PROCASSINIT", "UNUSEDSIGNAL")

#: The configuration file of pattern waivers (each with its reason).
WAIVER_FILE = pathlib.Path(__file__).with_name("waivers.vlt")

CONFIGS = [AccelConfig(rows=4, cols=3), AccelConfig(rows=3, cols=7, weight_format="t5"),
           AccelConfig(rows=1, cols=1, acc_bits=20, max_k=1000), AccelConfig(rows=16, cols=5),
           AccelConfig(rows=2, cols=3, pe="int8"),
           AccelConfig(rows=3, cols=7, result_lanes=2),     # a row over four beats
           AccelConfig(rows=3, cols=7, weight_format="t5", max_m=6),   # a small job register
           AccelConfig(rows=5, cols=4, weight_port_bits=24),           # 3 rows per beat
           AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=104)]  # a tile


def _lint(path, top, *, waivers=True):
    verilator_environment()
    extra = [f"-Wno-{name}" for name in WAIVED] + [str(WAIVER_FILE)] if waivers else []
    command = ["verilator", "--lint-only", "-Wall", *extra, "--top-module", top, str(path)]
    return subprocess.run(command, capture_output=True, text=True)


def _warnings(stderr):
    """``[(class, message)]`` of every ``%Warning-CLASS: file:line:col: message`` line."""
    return re.findall(r"^%Warning-(\w+): [^:]*:\d+:\d+: (.*)$", stderr, re.MULTILINE)


def _patterns():
    """``[(class, pattern)]`` of every ``lint_off`` line of the waiver file."""
    return re.findall(r'^lint_off -rule (\w+) -file "\*" -match "(.*)"$',
                      WAIVER_FILE.read_text(), re.MULTILINE)


@pytest.mark.parametrize("config", CONFIGS,
                         ids=lambda c: f"{c.rows}x{c.cols}-{c.format.name}")
def test_lint_clean_with_documented_waivers(config, tmp_path):
    path = tmp_path / f"{config.name}.v"
    path.write_text(emit_verilog(config))
    result = _lint(path, config.name)
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_waivers_are_all_needed(tmp_path):
    """Every waived class and every waiver pattern does occur in the configurations above (a
    stale waiver would hide nothing and mislead), and the patterns cover width warnings only."""
    seen = []
    for config in CONFIGS:
        path = tmp_path / f"{config.name}.v"
        path.write_text(emit_verilog(config))
        seen += _warnings(_lint(path, config.name, waivers=False).stderr)
    classes = {kind for kind, _ in seen}
    for name in WAIVED:
        assert name in classes, f"{name} no longer occurs; drop its waiver"
    patterns = _patterns()
    assert len(patterns) == 4, patterns
    for kind, pattern in patterns:
        assert kind in ("WIDTHEXPAND", "WIDTHTRUNC")
        assert any(k == kind and fnmatch.fnmatchcase(text, pattern) for k, text in seen), \
            f"waiver {pattern!r} matches no warning; drop it"


@pytest.mark.parametrize("change, kind", [(+1, "WIDTHEXPAND"), (-1, "WIDTHTRUNC")])
def test_pin_width_mismatch_is_still_reported(change, kind, tmp_path):
    """A column whose PE module has a ``psum_in`` one bit wider (or narrower) than the wire the
    column connects to it: the waivers must not hide the pin-width warning."""
    config = AccelConfig(rows=4, cols=3)
    variants = sorted(set(pe_variants(config).values()))
    in_bits, out_bits = next(variant for variant in variants if variant[0])
    modules = [emit_module(SystolicColumn(config, instantiate=True),
                           column_module_name(config))]
    for variant in variants:
        built = (variant[0] + change, variant[1] + 1) if variant == (in_bits, out_bits) \
            else variant
        modules.append(emit_module(make_pe(config, *built), pe_module_name(config, *variant)))
    path = tmp_path / "column.v"
    path.write_text("\n".join(modules))
    result = _lint(path, column_module_name(config))
    found = [text for k, text in _warnings(result.stderr) if k == kind]
    assert any(text.startswith(f"Input port connection 'psum_in' expects {in_bits + change} "
                               f"bits on the pin connection") for text in found), result.stderr
    # The same column with the right PE modules is clean.
    right = [modules[0]] + [emit_module(make_pe(config, *variant),
                                        pe_module_name(config, *variant))
                            for variant in variants]
    path.write_text("\n".join(right))
    result = _lint(path, column_module_name(config))
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr
