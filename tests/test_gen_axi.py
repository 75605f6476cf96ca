"""python -m gen --interface axi: the memory-mapped top's files. The C header must compile and
agree with the manifest and the register table; the Verilog must be deterministic and have the
documented ports; bad options fail with one line and exit status 2."""

import json
import shutil
import subprocess

import pytest

from gen.cli import main
from gen.emit import generate
from rtl.axi.register_map import register_map
from rtl.config import AccelConfig

CONFIG = AccelConfig(rows=8, cols=8, weight_format="t5", weight_port_bits=64, interface="axi",
                     name="tacc")


def test_files_and_manifest():
    files = generate(CONFIG)
    assert sorted(files) == ["manifest.json", "tacc.f", "tacc.v", "tacc_regs.h"]
    assert generate(CONFIG) == files                       # deterministic, every file
    manifest = json.loads(files["manifest.json"])
    assert manifest["interface"] == "axi"
    section = manifest["axi"]
    expected = register_map(CONFIG, data_port_bits=64, weight_ports=1)
    assert [(r["name"], r["offset"], r["reset"]) for r in section["registers"]] == \
        [(r.name, r.offset, r.reset) for r in expected]
    assert section["bits_per_weight_port"] == 64 and section["data_port_bits"] == 64
    assert section["max_burst_beats"] == {"weights": 256, "data": 256}
    ports = {port["name"]: port for port in manifest["ports"]}
    assert ports["m_axi_w0__araddr"]["width"] == 64 and ports["m_axi_w0__rdata"]["width"] == 64
    assert ports["m_axi_d__wdata"]["width"] == 64 and ports["m_axi_d__wstrb"]["width"] == 8
    assert ports["s_axil__awaddr"]["width"] == 8 and ports["irq"]["direction"] == "output"
    assert "cmd__valid" not in ports
    assert "module tacc(" in files["tacc.v"]


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_c_header_compiles_and_agrees(tmp_path):
    files = generate(CONFIG)
    (tmp_path / "tacc_regs.h").write_text(files["tacc_regs.h"])
    names = [(reg.name, field.name.upper()) for reg in register_map(
        CONFIG, data_port_bits=64, weight_ports=1) for field in reg.fields]
    prints = "\n".join(
        f'    printf("{reg} {field} %u %u %u\\n", TACC_{reg}_OFFSET, TACC_{reg}_{field}_SHIFT, '
        f'TACC_{reg}_{field}_MASK);' for reg, field in names)
    (tmp_path / "main.c").write_text(
        '#include <stdio.h>\n#include "tacc_regs.h"\nint main(void) {\n' + prints +
        '\n    printf("causes %u %u\\n", TACC_CAUSE_SIZE, TACC_CAUSE_RESULTS_WRITE);\n'
        '    printf("rows %u ports %u\\n", TACC_ROWS, TACC_WEIGHT_PORTS);\n    return 0;\n}\n')
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Werror", "-o", str(tmp_path / "main"),
                    str(tmp_path / "main.c")], check=True)
    out = subprocess.run([str(tmp_path / "main")], check=True, capture_output=True,
                         text=True).stdout.splitlines()
    manifest = json.loads(files["manifest.json"])
    expected = [f"{reg['name']} {field['name'].upper()} {reg['offset']} {field['lsb']} "
                f"{((1 << field['width']) - 1) << field['lsb']}"
                for reg in manifest["axi"]["registers"] for field in reg["fields"]]
    assert out[:-2] == expected
    assert out[-2:] == ["causes 1 6", "rows 8 ports 1"]


def test_cli_writes_the_header(tmp_path, capsys):
    folder = tmp_path / "out"
    assert main(["--rows", "4", "--cols", "4", "--interface", "axi", "--read-latency", "200",
                 "-o", str(folder)]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [
        "manifest.json", "ternary_accel.f", "ternary_accel.v", "ternary_accel_regs.h"]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parameters"]["read_latency"] == 200
    assert manifest["parameters"]["weight_port_bits"] == 32


@pytest.mark.parametrize("argv, message", [
    (["--data-port-bits", "64"],
     "--data-port-bits applies to interface='axi' only, not 'stream'"),
    (["--interface", "axi", "--read-latency", "0"],
     "--read-latency must be an integer from 1 to 65536, not 0"),
    (["--interface", "axi", "--rows", "2", "--cols", "2"],
     "interface='axi' needs a weight beat of a power of two from 32 to 1024 bits and this "
     "shape has none (legal: none for this shape and format)"),
    (["--interface", "pci"], None),
])
def test_cli_errors(tmp_path, capsys, argv, message):
    folder = tmp_path / "out"
    assert main(argv + ["-o", str(folder)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    if message is not None:
        assert err[0] == f"python -m gen: error: {message}"
    assert not folder.exists()


def test_interface_doc_lists_the_register_map():
    """docs/interface.md's register table names every register at its offset (a change of
    the table in rtl/axi/register_map.py must be written in the doc)."""
    import pathlib
    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "interface.md").read_text()
    table = doc[doc.index("### Registers"):doc.index("### Images")]
    rows = [line for line in table.splitlines() if line.startswith("| `0x")]
    config = AccelConfig(rows=8, cols=8, interface="axi")
    for reg in register_map(config, data_port_bits=64, weight_ports=2):
        if reg.name.startswith("WEIGHTS"):
            port = int(reg.name[7])
            assert 0x40 + 8 * port + 4 * reg.name.endswith("_HI") == reg.offset
            assert any("`WEIGHTS<p>_LO`" in row and "`0x40 + 8p`" in row for row in rows)
            continue
        stem, _, half = reg.name.rpartition("_")
        names = {f"`{reg.name}`"} | ({f"`{stem}_LO`, `_HI`"} if half in ("LO", "HI") else set())
        if reg.name.startswith("INFO_MAX_"):
            names = {"`INFO_MAX_M`, `_K`, `_N`"}
        matching = [row for row in rows if any(name in row for name in names)]
        assert matching, reg.name
        assert f"`0x{reg.offset:02X}`" in matching[0], (reg.name, matching[0])
        for field in reg.fields:
            if reg.name in ("ID", "CONTROL", "STATUS", "INFO_ARRAY", "INFO_PORTS",
                            "INFO_FORMAT"):
                bits = (f"[{field.lsb}]" if field.width == 1
                        else f"[{field.lsb + field.width - 1}:{field.lsb}]")
                assert f"`{field.name}` {bits}" in matching[0], (reg.name, field.name)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_integration_doc_c_example_compiles(tmp_path):
    """The register-by-register job of docs/integration.md (the ``c`` block after
    ``<!-- c-compiled -->``) compiles against a generated header."""
    import pathlib
    doc = (pathlib.Path(__file__).resolve().parent.parent / "docs" / "integration.md")
    text = doc.read_text()
    start = text.index("<!-- c-compiled -->\n```c\n") + len("<!-- c-compiled -->\n```c\n")
    code = text[start:text.index("```", start)]
    files = generate(AccelConfig(rows=8, cols=8, interface="axi"))
    (tmp_path / "ternary_accel_regs.h").write_text(files["ternary_accel_regs.h"])
    (tmp_path / "job.c").write_text(code)
    subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-c", "-o",
                    str(tmp_path / "job.o"), str(tmp_path / "job.c")], check=True,
                   cwd=tmp_path)
