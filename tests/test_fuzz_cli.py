"""Property tests (Hypothesis) of the three command lines against random argument lists.

``python -m gen``, ``python -m golden.generate`` and ``python -m cosim.transformer`` are
called in-process (``main(argv)``, :func:`golden.cli.run_cli`) with lists drawn from their
own options, values at and beyond every limit, line breaks, empty strings and paths that are
folders, missing or end in a separator; half of the lists start from a valid command and
change one or two things. Every run must exit 0 or 2, never raise; exit 2 prints exactly one
line, ``PROG: error: ...``, on stderr, nothing on stdout and writes nothing; exit 0 prints
what the tool documents (the answer and one timing line, or the generator's one line).

Every path drawn is in a temporary folder (the trained checkpoint is copied there). Nothing
expensive runs: ``python -m gen`` writes into a temporary folder and generates the
real Verilog only for arrays of at most 2x2 (larger ones get three stand-in files, since
the generator itself is tested in tests/test_gen_cli.py), synthesis is never started;
golden runs a checkpoint of 6 tokens; the co-simulation stops where the Verilog of the
accelerator would be generated, and its build folder must stay empty. A co-simulation
command that gets that far must also be one that ``python -m golden.generate`` accepts with
the same shared options, and an error in the shared options must be the same message.
Example counts: ``tests/fuzzing.py`` profiles.
"""

import os
import pathlib
import re
import shutil

import pytest
from hypothesis import currently_in_test_context, event, given, strategies as st

import cosim.build
import cosim.design_cache
import cosim.transformer
import gen.cli
import gen.emit
import golden.generate
from fuzzing import examples
from golden import BitNetConfig, BitNetModel, random_params, save_checkpoint
from golden.cli import UsageError, check_output_file, one_line

ROOT = pathlib.Path(__file__).resolve().parent.parent
SORT_DIGITS = str(ROOT / "models" / "sort-digits")
TIMING = re.compile(r"prefill \d+ tokens in \S+ s; decode \d+ tokens in \S+ s \((\S+ tokens/s|"
                    r"n/a)\); \S+ new tokens/s overall\n")


#: The real generator's files of the small configurations, generated once.
GENERATED = {}


class Reached(Exception):
    """A stand-in for work the fuzzer must not start (synthesis, a simulator)."""


# --- the harness --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def places(tmp_path_factory):
    """Folders and files the argument lists name: a tiny checkpoint, a file, a folder."""
    root = tmp_path_factory.mktemp("cli")
    config = BitNetConfig(vocab_size=6, hidden_size=4, intermediate_size=6,
                          num_hidden_layers=1, num_attention_heads=2, max_position_embeddings=8,
                          eos_token_id=1)
    save_checkpoint(BitNetModel(config, random_params(config, seed=3)), root / "tiny")
    shutil.copytree(SORT_DIGITS, root / "sort-digits")   # python -m gen -o may write there
    (root / "file.txt").write_text("x")
    (root / "folder").mkdir()
    return root


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A fresh working folder per test; generation and simulation replaced by guards."""
    monkeypatch.chdir(tmp_path)
    build = tmp_path / "sim_build"
    build.mkdir()
    monkeypatch.setenv("TERNARY_ACCEL_BUILD_DIR", str(build))
    real_generate = gen.cli.generate

    def small_generate(config):
        if config.rows * config.cols <= 4:
            if config not in GENERATED:
                GENERATED[config] = real_generate(config)
            return GENERATED[config]
        return {f"{config.name}.v": "// stand-in\n", f"{config.name}.f": f"{config.name}.v\n",
                "manifest.json": "{}\n"}

    def synthesize(*args, **kwargs):
        raise Reached("synthesis")

    monkeypatch.setattr(gen.cli, "generate", small_generate)
    monkeypatch.setattr(gen.cli.synth, "synthesize", synthesize)
    return tmp_path


@pytest.fixture
def no_cosim(sandbox, monkeypatch):
    """The co-simulation stops where it would look for a built simulator (the design index
    would otherwise find one that an earlier test built, and run it) or generate the
    accelerator's Verilog; builds go to the sandbox."""
    def stop(*args, **kwargs):
        raise Reached("co-simulation")
    monkeypatch.setattr(cosim.design_cache, "cached_simulator", stop)
    monkeypatch.setattr(gen.emit, "emit_verilog", stop)
    monkeypatch.setattr(cosim.build, "BUILD_ROOT", sandbox / "sim_build")
    return sandbox


def snapshot(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


def run(main, argv, capsys, *folders):
    """``(status, stdout, stderr)``; a ``Reached`` stand-in counts as status 0. An exit 2
    must leave ``folders`` as they were."""
    before = [snapshot(folder) for folder in folders]
    capsys.readouterr()
    try:
        status = main(argv)
    except Reached as reached:
        status = f"reached {reached}"
    except SystemExit as stop:   # --help: argparse prints the help and exits 0
        assert stop.code == 0 and any(a == "-h" or a.startswith("--h") for a in argv), argv
        status = "help"
    out, err = capsys.readouterr()
    if currently_in_test_context():
        event(f"{main.__module__}: {status}")
    if status == 2:
        assert out == "", out
        assert err.count("\n") == 1 and err.endswith("\n") and len(err.splitlines()) == 1, err
        assert [snapshot(folder) for folder in folders] == before, "an exit 2 wrote files"
    elif status == "help":
        assert out.startswith("usage: ") and err == ""
    else:
        assert status == 0 or str(status).startswith("reached"), (status, err)
    return status, out, err


# --- argument lists -----------------------------------------------------------------------------

def path_values(places):
    return st.sampled_from([str(places / "tiny"), str(places / "sort-digits"),
                            str(places / "file.txt"),
                            str(places / "folder"), str(places / "folder") + os.sep,
                            str(places / "missing" / "x"), "out", "out/", "", "-", ".",
                            "a\nb", "logits.npy", "run.json", "run.png", "/proc/x",
                            str(places / "file.txt" / "x")])


values = st.one_of(
    st.sampled_from(["0", "1", "2", "3", "4", "5", "6", "7", "8", "16", "64", "255", "256",
                     "257", "65535", "65536", "-1", "1.5", "0x10", "1_0", " 2", "\u0663",
                     "99999999999999999999", "1e309", "1e-310", "5e-324", "nan", "inf", "-0",
                     "0,1", "1,2,3", "0,,1", "5,9", ",", "i2", "t5", "int8", "ternary",
                     "ecp5", "ice40", "x", "", "\n", "a\nb", "--", "-x", "always",
                     "Module", "module", "top", "25k", "hx8k", "531962="]),
    st.text(max_size=6))

OPTIONS = {
    "gen": ["--rows", "--cols", "--act-bits", "--acc-bits", "--weight-format",
            "--weight-port-bits", "--wmem-tiles", "--max-m", "--max-k", "--max-n", "--name", "--pe", "--result-lanes", "-o",
            "--output", "--synth", "--pnr", "--device", "--freq", "--no-dsp",
            "--no-breakdown", "--synth-timeout"],
    "golden": ["--checkpoint", "--prompt", "--prompt-ids", "--max-new-tokens",
               "--temperature", "--top-k", "--seed", "--stop-at-eos", "--dump-logits"],
}
OPTIONS["cosim"] = OPTIONS["golden"] + ["--rows", "--cols", "--weight-format", "--clock-mhz",
                                        "--report"]
#: Values each option accepts (with the tiny checkpoint), drawn more often than the others.
GOOD = {"--rows": ["1", "2", "3", "8"], "--cols": ["1", "2", "4", "8"], "--act-bits": ["2", "8"],
        "--acc-bits": ["20", "32"], "--weight-format": ["i2", "t5", "int8"],
        "--wmem-tiles": ["2", "4", "64"], "--weight-port-bits": ["4", "8", "16", "40"], "--max-m": ["1", "256"], "--max-k": ["8", "4096"],
        "--max-n": ["2", "100"], "--name": ["top", "accel_1"], "--pe": ["ternary", "int8"],
        "--result-lanes": ["1", "2"], "-o": ["out", "out2/sub"], "--output": ["out"],
        "--synth": ["ecp5", "ice40"], "--device": ["25k", "hx8k"], "--freq": ["100"],
        "--synth-timeout": ["10"], "--prompt-ids": ["0", "0,3,5", "1,2"],
        "--prompt": ["531962=", "12="], "--max-new-tokens": ["1", "2", "5"],
        "--temperature": ["0", "0.5", "2"], "--top-k": ["1", "3", "6"], "--seed": ["0", "9"],
        "--dump-logits": ["logits.npy", "l2.npy"], "--clock-mhz": ["100"],
        "--report": ["run.json", "r2.json"]}
COSIM_ONLY = [option for option in OPTIONS["cosim"] if option not in OPTIONS["golden"]]
FLAGS = {"--pnr", "--no-dsp", "--no-breakdown", "--stop-at-eos"}
PATHS = {"-o", "--output", "--checkpoint", "--dump-logits", "--report"}
EXTRA = ["--", "-", "--ro", "--rows=2", "--max", "-h", "--unknown", "positional"]


def valid_start(tool, places):
    if tool == "gen":
        return st.sampled_from([["--rows", "2", "--cols", "2", "-o", "out"],
                                ["--rows", "1", "--cols", "1", "--weight-format", "t5"],
                                ["--rows", "2", "--cols", "2", "--pe", "int8", "-o", "out"],
                                ["--rows", "8", "--cols", "8", "--synth", "ecp5"]])
    base = [["--checkpoint", str(places / "tiny"), "--prompt-ids", "0,3", "--max-new-tokens",
             "3"],
            ["--checkpoint", str(places / "sort-digits"), "--prompt", "531962=",
             "--max-new-tokens", "2", "--stop-at-eos"],
            ["--checkpoint", str(places / "tiny"), "--prompt-ids", "2", "--max-new-tokens", "2",
             "--temperature", "1.5", "--top-k", "3", "--seed", "4"]]
    return st.sampled_from(base)


@st.composite
def argument_lists(draw, tool, places):
    paths = path_values(places)
    options = OPTIONS[tool]

    def option_and_value():
        if draw(st.integers(0, 4)) == 4:   # a stray value
            return [draw(values)]
        option = draw(st.one_of(st.sampled_from(options), st.sampled_from(EXTRA)))
        if option in FLAGS or option in EXTRA:
            return [option]
        if option in GOOD and draw(st.booleans()):
            return [option, draw(st.sampled_from(GOOD[option]))]
        return [option, draw(paths if option in PATHS else values)]

    if draw(st.booleans()):
        argv = []
        for _ in range(draw(st.integers(0, 6))):
            argv += option_and_value()
        return argv
    argv = list(draw(valid_start(tool, places)))
    for _ in range(draw(st.integers(0, 2))):
        kind = draw(st.sampled_from(["add", "value", "drop"]))
        if kind == "add":
            argv += option_and_value()
        elif kind == "value" and argv:
            at = draw(st.integers(0, len(argv) - 1))
            argv[at] = draw(paths if at and argv[at - 1] in PATHS else values)
        elif argv:
            del argv[draw(st.integers(0, len(argv) - 1))]
    return argv


# --- properties ---------------------------------------------------------------------------------

@examples(300)
@given(data=st.data())
def test_gen_command_line(places, sandbox, capsys, data):
    argv = data.draw(argument_lists("gen", places))
    status, out, err = run(gen.cli.main, argv, capsys, sandbox, places)
    if status == 2:
        assert err.startswith("python -m gen: error: ")
    elif status == 0:
        # one line, unless the folder's name holds a line break
        assert re.fullmatch(r"\d+x\d+ \S+ array \(\d+ PEs\): wrote .*\n", out, re.S), out
        assert err == ""


@examples(300)
@given(data=st.data())
def test_golden_generate_command_line(places, sandbox, capsys, data):
    argv = data.draw(argument_lists("golden", places))
    status, out, err = run(golden.generate.main, argv, capsys, sandbox, places)
    if status == 2:
        assert err.startswith("python -m golden.generate: error: ")
    elif status == 0:
        assert out.endswith("\n") and TIMING.fullmatch(err), (out, err)


@examples(300)
@given(data=st.data())
def test_cosim_transformer_command_line(places, no_cosim, capsys, data):
    """Stops where the accelerator's Verilog would be generated; the shared options give
    golden.generate's outcome and messages."""
    sandbox = no_cosim
    argv = data.draw(argument_lists("cosim", places))
    status, out, err = run(cosim.transformer.main, argv, capsys, sandbox, places)
    assert os.listdir(sandbox / "sim_build") == []
    if status == 2:
        assert err.startswith("python -m cosim.transformer: error: ")
    else:
        assert status in ("help", "reached co-simulation"), status
    if status == "help" or any(a.startswith("-") and any(option.startswith(a.split("=")[0])
                                                         for option in COSIM_ONLY)
                               for a in argv):
        return
    golden_status, _, golden_err = run(golden.generate.main, argv, capsys, sandbox, places)
    if status == 2:
        assert golden_err == err.replace("cosim.transformer", "golden.generate", 1)
    else:
        assert golden_status == 0, golden_err


# --- defects the fuzzers found, as plain examples -----------------------------------------------

@pytest.mark.parametrize("tool, argv, message", [
    # a line break in an argument made the message two lines
    ("gen", ["foo\nbar"], "python -m gen: error: unrecognized arguments: foo\\nbar"),
    ("golden", ["--checkpoint", "no\rsuch", "--prompt-ids", "1", "--max-new-tokens", "1"],
     "python -m golden.generate: error: no\\rsuch: not a checkpoint folder"),
    # a token id beyond int64 raised OverflowError
    ("golden", ["--checkpoint", SORT_DIGITS, "--prompt-ids", "1,99999999999999999999",
                "--max-new-tokens", "1"],
     "python -m golden.generate: error: argument --prompt-ids: expected comma-separated "
     "integers of at most 64 bits, not '1,99999999999999999999'"),
    # an empty --dump-logits was accepted and nothing written (exit 0); a folder name that
    # does not exist yet failed after the run (exit 1)
    ("golden", ["--checkpoint", SORT_DIGITS, "--prompt-ids", "1", "--max-new-tokens", "1",
                "--dump-logits", ""],
     "python -m golden.generate: error: --dump-logits '' is not a file name"),
    ("cosim", ["--checkpoint", SORT_DIGITS, "--prompt-ids", "1", "--max-new-tokens", "1",
               "--report", "new/"],
     "python -m cosim.transformer: error: --report 'new/' is not a file name"),
    # an empty output folder was refused only after the Verilog was generated
    ("gen", ["--rows", "64", "--cols", "64", "-o", ""],
     "python -m gen: error: output folder must not be empty"),
])
def test_found_defects_exit_2_with_one_line(no_cosim, capsys, tool, argv, message):
    sandbox = no_cosim
    main = {"gen": gen.cli.main, "golden": golden.generate.main,
            "cosim": cosim.transformer.main}[tool]
    status, out, err = run(main, argv, capsys, sandbox)
    assert (status, out, err) == (2, "", message + "\n")


def test_tiny_temperature_is_greedy(places, sandbox, capsys):
    """A temperature whose 1/T overflows float64 picked the lowest id among the logits that
    overflowed (not the largest logit) and printed RuntimeWarnings; its limit is greedy."""
    base = ["--checkpoint", SORT_DIGITS, "--prompt", "531962=", "--max-new-tokens", "6"]
    greedy = run(golden.generate.main, base, capsys, sandbox)
    for temperature in ("1e-310", "5e-324"):
        tiny = run(golden.generate.main, [*base, "--temperature", temperature, "--seed", "1"],
                   capsys, sandbox)
        assert tiny[:2] == greedy[:2] == (0, "123569\n") and TIMING.fullmatch(tiny[2])


def test_one_line_escapes_every_line_break():
    text = "a\nb\rc\x0bd\x0ce\x1cf\x1dg\x1eh\x85i\u2028j\u2029k"
    assert len(one_line(text).splitlines()) == 1
    assert one_line(text) == "a\\nb\\rc\\x0bd\\x0ce\\x1cf\\x1dg\\x1eh\\x85i\\u2028j\\u2029k"
    assert one_line("tab\tstays é") == "tab\tstays é"


def test_output_file_checks(places):
    for path in ("", "x/", str(places / "never made") + os.sep):
        with pytest.raises(UsageError, match=r"^--out .* is not a file name$"):
            check_output_file(path, "--out")
    with pytest.raises(UsageError, match=r"^--out .* is a folder, not a file$"):
        check_output_file(str(places / "folder") + os.sep, "--out")
    # /proc refuses new files even to root, whom access() tells it is writable; found by the
    # long profile: the run then failed after its work (exit 1)
    with pytest.raises(UsageError, match=r"^cannot write --out '/proc/x': "):
        check_output_file("/proc/x", "--out")
    check_output_file(str(places / "new.npy"), "--out")
    assert not (places / "new.npy").exists()
    (places / "old.npy").write_bytes(b"kept")
    check_output_file(str(places / "old.npy"), "--out")
    assert (places / "old.npy").read_bytes() == b"kept"
