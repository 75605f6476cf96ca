"""The top-level benches on Verilator with random initial state: no register relies on a
power-up value.

An FPGA bitstream gives every flip-flop the initial value yosys writes into the Verilog
(``reg x = 1'h0;``); an ASIC has none, and the PE and datapath registers have no reset by
design. This bench removes those initial values (:func:`strip_initial_values`, a text
transformation tested below), builds the copy with ``--x-assign unique --x-initial unique``
(:data:`RANDOM_INIT_ARGS`) and runs it with ``+verilator+seed+N +verilator+rand+reset+2``
(every register and memory word starts with a random value drawn from seed N) for each seed
of :data:`SEEDS`:

* ``power_up_state`` (first, before any reset): the result payload, a register without reset
  that no initial value now clears, is not zero, so the random initial state is in effect;
* after the benches' usual two-cycle reset, tests of ``cosim/test_top.py``
  (:data:`TOP_TESTS`): every result bit-exact against golden, every cycle count the
  manifest's.

The result payload is random (X in a four-state simulator) while ``results.valid`` is low,
from power-up to the first result: harmless under the stream rules (a sink reads the payload
only with ``valid`` high, which the driver obeys), documented in ``docs/verification.md``.

Run by ``pytest cosim/test_random_init.py``; one build per configuration of :data:`LABELS`.
"""

import re

import pytest

import cocotb
from cocotb.triggers import ReadOnly, Timer

from .build import build_simulator


#: Verilator arguments of the random-initial-state builds (after ``cosim.build.BUILD_ARGS``,
#: whose ``fast`` settings they override: Verilator takes the last of a repeated option).
RANDOM_INIT_ARGS = ("--x-assign", "unique", "--x-initial", "unique")
#: The ``+verilator+seed+N`` seeds; each is one run of the tests.
SEEDS = (1, 2, 3)
#: Configurations of ``cosim/test_top.py`` run here: one beat per row in both weight formats.
LABELS = ("4x3-i2", "3x7-t5")
#: The tests of ``cosim/test_top.py`` run after the power-up check.
TOP_TESTS = ("cycle_model", "random_traffic", "reset_mid_job", "command_errors")

#: yosys's own helper register (``reg \$auto$verilog_backend.cc:...:dump_module$N = 0;``),
#: read only by empty ``if`` statements that make ``always @*`` blocks run at time zero: not a
#: design register, so its initial value is kept.
_SCAFFOLD = "\\$auto$verilog_backend"
_INITIALISED_REG = re.compile(r"^(\s*reg\b[^=;]*?)\s*=\s*[^;]+;\s*$")


def strip_initial_values(verilog):
    """``verilog`` with the initial value of every register declaration removed
    (``reg [3:0] n = 4'h0;`` becomes ``reg [3:0] n;``), yosys's scaffolding register
    excepted; every other line unchanged. Raises ``ValueError`` if the text has an ``initial``
    block (a memory's initial contents), which this transformation does not handle."""
    if not isinstance(verilog, str):
        raise TypeError(f"verilog must be a str, not {type(verilog).__name__}")
    lines = []
    for number, line in enumerate(verilog.splitlines(keepends=True), 1):
        if re.match(r"^\s*initial\b", line):
            raise ValueError(f"line {number} opens an initial block, which "
                             "strip_initial_values does not remove")
        match = _INITIALISED_REG.match(line)
        if match and _SCAFFOLD not in line:
            ending = "\n" if line.endswith("\n") else ""
            # An escaped identifier (\name$1) ends at white space, which must stay.
            space = " " if re.search(r"\\\S+$", match.group(1)) else ""
            line = f"{match.group(1)}{space};{ending}"
        lines.append(line)
    return "".join(lines)


# ---- cocotb side --------------------------------------------------------------------------

@cocotb.test()
async def power_up_state(dut):
    """Before any clock edge or reset: the result payload register starts random, not zero
    (so the initial values are gone and ``+verilator+rand+reset+2`` took effect)."""
    await Timer(1, unit="ns")
    await ReadOnly()
    payload = dut.results__payload.value
    dut._log.info("power-up result payload %s", payload)
    assert payload.is_resolvable and payload.to_unsigned() != 0, \
        f"the result payload is {payload} at power-up: the random initial state is not in effect"


# ---- pytest side --------------------------------------------------------------------------

def _design(label):
    from gen.emit import emit_verilog
    from .test_top import CONFIGS
    config, _ = CONFIGS[label]
    return config, emit_verilog(config)


def test_strip_initial_values_snippet():
    text = ("module m(clk);\n"
            "  reg \\$auto$verilog_backend.cc:2355:dump_module$1  = 0;\n"
            "  reg [3:0] n = 4'h0;\n"
            "  reg v = 1'h1;\n"
            "  reg [31:0] stage1 = 32'd0;\n"
            "  reg [1:0] \\port_r__addr$43  = 2'h0;\n"
            "  reg [95:0] storage [15:0];\n"
            "  wire [3:0] w = n;\n"
            "endmodule")
    assert strip_initial_values(text) == (
        "module m(clk);\n"
        "  reg \\$auto$verilog_backend.cc:2355:dump_module$1  = 0;\n"
        "  reg [3:0] n;\n"
        "  reg v;\n"
        "  reg [31:0] stage1;\n"
        "  reg [1:0] \\port_r__addr$43 ;\n"
        "  reg [95:0] storage [15:0];\n"
        "  wire [3:0] w = n;\n"
        "endmodule")


def test_strip_initial_values_refuses():
    with pytest.raises(ValueError, match=r"^line 2 opens an initial block, which "
                       r"strip_initial_values does not remove$"):
        strip_initial_values("reg [7:0] m [1:0];\ninitial begin\n  m[0] = 8'h01;\nend\n")
    with pytest.raises(TypeError, match=r"^verilog must be a str, not bytes$"):
        strip_initial_values(b"reg a = 1'h0;")


@pytest.mark.parametrize("label", LABELS)
def test_strip_initial_values_design(label):
    """On the generated Verilog: only register declarations change, each loses its initial
    value, and no initialised register is left but yosys's scaffolding."""
    _, verilog = _design(label)
    stripped = strip_initial_values(verilog)
    before, after = verilog.splitlines(), stripped.splitlines()
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after) if old != new]
    initialised = [line for line in before if re.match(r"^\s*reg\b[^;]*=", line)
                   and _SCAFFOLD not in line]
    assert len(changed) == len(initialised) > 10
    for old, new in changed:
        assert re.fullmatch(r"\s*reg\b[^=;]*;", new) and old.startswith(new[:-1] + " = "), \
            (old, new)
    assert not [line for line in after if re.match(r"^\s*reg\b[^;]*=", line)
                and _SCAFFOLD not in line]


def _run(build, module_names, seed, folder, config, test_filter):
    """Run ``module_names``' cocotb tests in ``build`` with Verilator's random initial state
    from ``seed``; fail unless every test ran and passed."""
    from .runner import SimulatorJob
    with SimulatorJob(build, f"seed{seed}", folder=folder) as job:
        total = job.run(list(module_names), config=config, test_filter=test_filter,
                        plusargs=[f"+verilator+seed+{seed}", "+verilator+rand+reset+2"],
                        log_to_file=False)
    assert total > len(TOP_TESTS), f"seed {seed}: only {total} cocotb tests ran"
    return total


@pytest.mark.parametrize("label", LABELS)
def test_random_init(label):
    config, verilog = _design(label)
    build = build_simulator("top-xinit", strip_initial_values(verilog), config.name,
                            label=config.digest, extra_args=RANDOM_INIT_ARGS)
    test_filter = "|".join(["power_up_state", *TOP_TESTS])
    for seed in SEEDS:
        _run(build, ("cosim.test_random_init", "cosim.test_top"), seed,
             build.folder / f"run-seed{seed}", config.as_dict(), test_filter)
