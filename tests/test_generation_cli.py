"""``python -m golden.generate`` and ``python -m cosim.transformer`` as one tool family: the
same options, limits and messages; everything checked before any work; standard output only
the answer; a late write error loses nothing. No simulator runs here: the co-simulation is
replaced by a canned run where a test needs one (cosim/test_transformer_cli.py runs the real
thing)."""

import errno
import json
import pathlib

import numpy as np
import pytest

import cosim.transformer
import golden
import golden.generate
from cosim.report import build_report, format_report, plot_report
from golden.cli import OneLineParser
from rtl.config import AccelConfig

ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKPOINT = str(ROOT / "models" / "sort-digits")
TOOLS = {"golden": (golden.generate.main, "python -m golden.generate"),
         "cosim": (cosim.transformer.main, "python -m cosim.transformer")}


@pytest.fixture(autouse=True)
def no_simulation(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the co-simulation was started")
    monkeypatch.setattr(cosim.transformer, "run_transformer_batch", refuse)


def _parsers():
    return golden.generate._parser(), cosim.transformer._parser()


def _options(parser):
    return {action.option_strings[-1]: action for action in parser._actions
            if action.option_strings and action.dest != "help"}


def test_both_tools_take_the_same_generation_options():
    shared, simulated = (_options(p) for p in _parsers())
    assert set(shared) == {"--checkpoint", "--prompt", "--prompt-ids", "--max-new-tokens",
                           "--temperature", "--top-k", "--seed", "--stop-at-eos",
                           "--dump-logits"}
    assert set(simulated) - set(shared) == {"--rows", "--cols", "--weight-format",
                                            "--weight-port-bits", "--interface", "--clock-mhz",
                                            "--report"}
    for name, action in shared.items():
        twin = simulated[name]
        assert (twin.default, twin.required, twin.help, twin.metavar, twin.nargs) == \
            (action.default, action.required, action.help, action.metavar, action.nargs), name
    assert simulated["--rows"].default == 16 and simulated["--cols"].default == 16


@pytest.mark.parametrize("parser", _parsers(), ids=["golden", "cosim"])
def test_every_option_has_help_with_its_default_and_range(parser):
    for name, action in _options(parser).items():
        text = action.help or ""
        assert "default" in text or "required" in text, f"{name}: {text!r}"
        if action.type not in (None, str) and action.choices is None:   # a number
            assert any(word in text for word in (" to ", "at least", "positive")), name


def _run(tool, argv, capsys):
    main, prog = TOOLS[tool]
    status = main(argv)
    out, err = capsys.readouterr()
    return status, out, err, prog


BASE = ["--checkpoint", CHECKPOINT, "--prompt", "531962=", "--max-new-tokens", "7"]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("change, message", [
    (["--max-new-tokens", "0"], "argument --max-new-tokens: expected an integer of at least 1, "
                                "not '0'"),
    (["--prompt", "abc="], f"--prompt has characters that the tokenizer of {CHECKPOINT} does "
                           f"not know: 'a', 'b', 'c'"),
    (["--prompt", "5 x=5"], f"--prompt has characters that the tokenizer of {CHECKPOINT} does "
                            f"not know: ' ', 'x'"),
    (["--prompt", ""], "--prompt is empty"),
    (["--temperature", "-1"], "argument --temperature: expected a finite number of at least 0, "
                              "not '-1'"),
    (["--temperature", "nan"], "argument --temperature: expected a finite number of at least "
                               "0, not 'nan'"),
    (["--top-k", "14"], "--top-k must be an integer from 1 to 13, not 14"),
    (["--top-k", "0"], "--top-k must be an integer from 1 to 13, not 0"),
    (["--seed", "-2"], "argument --seed: expected an integer of at least 0, not '-2'"),
    (["--max-new-tokens", "58"], "7 prompt tokens + 58 new tokens exceed "
                                 "max_position_embeddings=64 (--max-new-tokens: at most 57)"),
    (["--prompt-ids", "1,13"], "argument --prompt-ids: not allowed with argument --prompt"),
    (["--checkpoint", "/nonexistent"], "/nonexistent: not a checkpoint folder"),
    (["--dump-logits", "/"], "--dump-logits '/' is a folder, not a file"),
    (["--dump-logits", "/nonexistent/l.npy"], "cannot write --dump-logits '/nonexistent/l.npy': "
                                              "its folder does not exist"),
])
def test_both_tools_refuse_the_same_input_with_the_same_line(tool, change, message, capsys):
    argv = [*BASE, *change] if change[0] != "--prompt" else [*BASE[:2], *change, *BASE[4:]]
    status, out, err, prog = _run(tool, argv, capsys)
    assert (status, out, err) == (2, "", f"{prog}: error: {message}\n")


@pytest.mark.parametrize("tool", TOOLS)
def test_prompt_ids_out_of_the_vocabulary(tool, capsys):
    argv = ["--checkpoint", CHECKPOINT, "--prompt-ids", "1,13", "--max-new-tokens", "2"]
    status, out, err, prog = _run(tool, argv, capsys)
    assert (status, out) == (2, "")
    assert err == f"{prog}: error: --prompt-ids: prompt token ids must lie in [0, 13); found " \
                  f"13 at [1]\n"


@pytest.mark.parametrize("change, message", [
    (["--clock-mhz", "-5"], "argument --clock-mhz: expected a positive finite number, not '-5'"),
    (["--clock-mhz", "nan"], "argument --clock-mhz: expected a positive finite number, "
                             "not 'nan'"),
    (["--clock-mhz", "0"], "argument --clock-mhz: expected a positive finite number, not '0'"),
    (["--clock-mhz", "inf"], "argument --clock-mhz: expected a positive finite number, "
                             "not 'inf'"),
    (["--rows", "0"], "argument --rows: expected an integer from 1 to 256, not '0'"),
    (["--cols", "257"], "argument --cols: expected an integer from 1 to 256, not '257'"),
    (["--weight-format", "t4"], "argument --weight-format: invalid choice: 't4'"),
    (["--report", "/"], "--report '/' is a folder, not a file"),
    (["--report", "/nonexistent/run.json"], "cannot write --report '/nonexistent/run.json': "
                                            "its folder does not exist"),
])
def test_accelerator_options_are_checked_before_any_work(change, message, capsys):
    status, out, err, prog = _run("cosim", [*BASE, *change], capsys)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1 and err.startswith(f"{prog}: error: ")
    assert message in err


def test_a_report_named_like_its_picture_is_refused(tmp_path, capsys):
    report = str(tmp_path / "run.png")
    status, out, err, prog = _run("cosim", [*BASE, "--report", report], capsys)
    assert (status, out) == (2, "")
    assert err == (f"{prog}: error: --report {report!r}: the report's picture would overwrite "
                   f"it (it is written beside the report with the extension .png); give the "
                   f"report another extension, such as .json\n")
    assert not (tmp_path / "run.png").exists()
    same = str(tmp_path / "out.npy")
    status, out, err, prog = _run("cosim", [*BASE, "--report", same, "--dump-logits", same],
                                  capsys)
    assert status == 2 and err == (f"{prog}: error: --report and --dump-logits name the same "
                                   f"file {same!r}\n")
    assert cosim.transformer.picture_path("out/run.json") == "out/run.png"
    assert cosim.transformer.picture_path("run") == "run.png"


def _canned_run(model, prompt, steps):
    """What run_transformer_batch returns for one prompt, built from golden (the simulator is
    not needed to test how the command line writes its results)."""
    ids, logits = model.generate_with_logits(prompt, steps)
    config = AccelConfig(rows=16, cols=16)
    records = [{"projection": f"model.layers.0.self_attn.{kind}", "kind": kind, "layer": 0,
                "phase": phase, "step": step, "m": m, "k": 64, "n": 64, "cycles": 400,
                "seconds": 0.01}
               for phase, step, m in (("prefill", 0, len(prompt)), ("decode", 1, 1))
               for kind in ("q_proj", "o_proj")]
    report = build_report(config, records, prompt_tokens=len(prompt), new_tokens=len(ids),
                          seconds={"total": 20.0, "build": 14.5, "simulator_session": 5.0},
                          model_seconds=4.0, model={"name": "sort-digits", "layers": 2})
    report["batch"] = cosim.transformer.batch_figures(records, [len(prompt)], [len(ids)], 200.0)
    return cosim.transformer.TransformerBatchRun(new_ids=[ids], logits=[logits], report=report,
                                                 records=records)


def test_a_late_write_error_loses_nothing(tmp_path, capsys, monkeypatch):
    model = golden.load_checkpoint(CHECKPOINT)
    prompt = model.tokenizer.encode("531962=")
    run = _canned_run(model, prompt, 7)
    monkeypatch.setattr(cosim.transformer, "run_transformer_batch", lambda *a, **k: run)
    report, logits = tmp_path / "run.json", tmp_path / "logits.npy"
    write_json = cosim.transformer._write_json

    def read_only(path, data):                      # the report's own folder refuses it
        if pathlib.Path(path) == report:
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        write_json(path, data)
    monkeypatch.setattr(cosim.transformer, "_write_json", read_only)
    status, out, err, prog = _run("cosim", [*BASE, "--report", str(report), "--dump-logits",
                                            str(logits)], capsys)
    assert status == 1 and out == "123569\n"
    line = [text for text in err.splitlines() if "could not write" in text]
    assert len(line) == 1 and line[0].startswith(
        f"{prog}: error: could not write --report {str(report)!r}: Read-only file system; "
        f"written to ")
    fallback = pathlib.Path(line[0].split("written to ")[1].split(" instead")[0])
    assert json.loads(fallback.read_text()) == json.loads(json.dumps(run.report))
    fallback.unlink()
    assert np.array_equal(np.load(logits), run.logits[0])              # still written
    assert (tmp_path / "run.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not report.exists()


def test_golden_generate_writes_its_logits_and_survives_a_late_write_error(tmp_path, capsys,
                                                                          monkeypatch):
    model = golden.load_checkpoint(CHECKPOINT)
    _, expected = model.generate_with_logits(model.tokenizer.encode("531962="), 7)
    path = tmp_path / "logits"                      # no .npy appended
    status, out, err, _ = _run("golden", [*BASE, "--dump-logits", str(path)], capsys)
    assert (status, out) == (0, "123569\n")
    assert np.array_equal(np.load(path), expected) and np.load(path).dtype == np.float32
    monkeypatch.setattr(golden.generate, "save_logits", lambda p, a: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    status, out, err, prog = _run("golden", [*BASE, "--dump-logits", str(path)], capsys)
    assert (status, out) == (1, "123569\n")
    assert err.splitlines()[-1] == (f"{prog}: error: could not write --dump-logits "
                                    f"{str(path)!r}: No space left on device")


@pytest.mark.parametrize("tool", TOOLS)
def test_the_answer_ends_in_one_newline_after_an_eos_newline(tool, capsys, monkeypatch):
    model = golden.load_checkpoint(CHECKPOINT)
    run = _canned_run(model, model.tokenizer.encode("531962="), 7)
    monkeypatch.setattr(cosim.transformer, "run_transformer_batch", lambda *a, **k: run)
    status, out, err, _ = _run(tool, [*BASE, "--stop-at-eos"], capsys)
    assert (status, out) == (0, "123569\n")          # the EOS is the newline: no blank line
    status, out, err, _ = _run(tool, [*BASE[:-1], "3"], capsys)
    if tool == "golden":
        assert (status, out) == (0, "123\n")


def test_the_summary_reports_build_time_apart_from_run_time():
    model = golden.load_checkpoint(CHECKPOINT)
    report = _canned_run(model, model.tokenizer.encode("531962="), 7).report
    text = format_report(report)
    assert "wall 20.0 s: simulator build 14.5 s, simulation 5.0 s (model run 4.0 s: 1% in " \
           "simulation)" in text
    report["wall_seconds"]["build"] = 0.0
    assert "wall 20.0 s: simulator reused (no build), simulation 5.0 s" in format_report(report)


def test_report_figures_against_hand_worked_values(tmp_path):
    """2x2 array, two q_proj GEMMs: prefill M=3 (3*4*2 = 24 MACs in 10 cycles), decode M=1
    (8 MACs in 8 cycles): utilization 24/(4*10) and 8/(4*8)."""
    config = AccelConfig(rows=2, cols=2)
    records = [{"projection": "model.layers.0.self_attn.q_proj", "kind": "q_proj", "layer": 0,
                "phase": phase, "step": step, "m": m, "k": 4, "n": 2, "cycles": cycles,
                "seconds": 0.5} for phase, step, m, cycles in (("prefill", 0, 3, 10),
                                                              ("decode", 1, 1, 8))]
    report = build_report(config, records, prompt_tokens=3, new_tokens=2, clock_mhz=100.0,
                          seconds={"total": 2.0, "build": 0.0, "simulator_session": 1.5},
                          model_seconds=1.2)
    assert report["utilization_by_projection"]["prefill"]["q_proj"] == 24 / 40
    assert report["utilization_by_projection"]["decode"]["q_proj"] == 8 / 32
    assert report["utilization_by_projection"]["decode"]["k_proj"] is None
    assert report["utilization_by_phase"] == {"prefill": 24 / 40, "decode": 8 / 32}
    assert report["utilization"] == 32 / (4 * 18)
    assert report["cycles"]["prefill_by_projection"]["q_proj"] == 10
    assert report["cycles"]["decode_by_projection"]["q_proj"] == 8
    assert report["projection"]["decode_tokens_per_second"] == 100e6 / 8
    assert report["projection"]["prefill_tokens_per_second"] == 100e6 * 3 / 10
    plot_report(report, tmp_path / "picture.png")
    assert (tmp_path / "picture.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_shared_helper_is_the_one_line_parser():
    assert all(isinstance(parser, OneLineParser) for parser in _parsers())


# --- several prompts: one batch -----------------------------------------------------------------


PROMPTS = ["531962=", "90=", "8812=", "5="]


def _batch_argv(*prompts, option="--prompt"):
    argv = ["--checkpoint", CHECKPOINT, "--max-new-tokens", "7", "--stop-at-eos"]
    for prompt in prompts:
        argv += [option, prompt]
    return argv


def test_golden_generate_answers_several_prompts_as_one_batch(tmp_path, capsys):
    """One answer per prompt, in order, each the one the prompt gets alone (its logits too,
    in an .npz archive); the timing line sums over the prompts."""
    model = golden.load_checkpoint(CHECKPOINT)
    alone = [model.generate_with_logits(model.tokenizer.encode(p), 7, stop_at_eos=True)
             for p in PROMPTS]
    assert [model.tokenizer.decode(ids) for ids, _ in alone] == [
        "123569\n", "0000\n", "112888\n", "000055\n"]
    path = tmp_path / "logits.npz"
    status, out, err, _ = _run("golden", [*_batch_argv(*PROMPTS), "--dump-logits", str(path)],
                               capsys)
    assert (status, out) == (0, "123569\n0000\n112888\n000055\n")
    assert err.startswith("prefill 17 tokens in ") and "; decode 22 tokens in " in err \
        and err.count("\n") == 1                  # 4 + 7 + 5 + 7 - 4 tokens after the prefill
    with np.load(path) as archive:
        assert sorted(archive.files) == ["prompt_0", "prompt_1", "prompt_2", "prompt_3"]
        for i, (_, logits) in enumerate(alone):
            assert archive[f"prompt_{i}"].dtype == np.float32
            assert np.array_equal(archive[f"prompt_{i}"], logits), i
    ids = ",".join(str(i) for i in model.tokenizer.encode("8812="))
    status, out, err, _ = _run("golden", _batch_argv("5,3,1,9,6,2,10", ids,
                                                     option="--prompt-ids"), capsys)
    assert (status, out) == (0, "123569\n112888\n")


def test_golden_generate_one_prompt_keeps_its_output(capsys):
    status, out, err, _ = _run("golden", _batch_argv("531962="), capsys)
    assert (status, out) == (0, "123569\n")
    assert err.startswith("prefill 7 tokens in ") and "; decode 6 tokens in " in err


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("prompts, option, message", [
    (["531962=", ""], "--prompt", "--prompt #2 is empty"),
    (["531962=", "5=", "a5="], "--prompt",
     f"--prompt #3 has characters that the tokenizer of {CHECKPOINT} does not know: 'a'"),
    (["1,2", "3,13"], "--prompt-ids",
     "--prompt-ids #2: prompt token ids must lie in [0, 13); found 13 at [1]"),
    (["5=", "1" * 59 + "="], "--prompt", "--prompt #2: 60 prompt tokens + 7 new tokens exceed "
                                         "max_position_embeddings=64 (--max-new-tokens: at "
                                         "most 4)"),
    (["1,2", "x"], "--prompt-ids",
     "argument --prompt-ids: expected comma-separated integers, not 'x'"),
])
def test_a_bad_prompt_of_a_batch_is_named_by_its_place(tool, prompts, option, message, capsys,
                                                       tmp_path):
    logits = tmp_path / "logits.npz"
    argv = [*_batch_argv(*prompts, option=option), "--dump-logits", str(logits)]
    status, out, err, prog = _run(tool, argv, capsys)
    assert (status, out, err) == (2, "", f"{prog}: error: {message}\n")
    assert not logits.exists()


def test_cosim_runs_several_prompts_as_one_batch(tmp_path, capsys, monkeypatch):
    """python -m cosim.transformer hands the prompts to run_transformer_batch in order with
    the accelerator's options, prints one answer per prompt and the batch's decode rates."""
    model = golden.load_checkpoint(CHECKPOINT)
    prompts = [model.tokenizer.encode(p) for p in PROMPTS[:2]]
    results = model.generate_batch_with_logits(prompts, 7, stop_at_eos=True)
    records = [{"projection": "model.layers.0.mlp.up_proj", "kind": "up_proj", "layer": 0,
                "phase": phase, "step": step, "m": m, "k": 64, "n": 64, "cycles": cycles,
                "seconds": 0.01}
               for phase, step, m, cycles in (("prefill", 0, 10, 500), ("decode", 1, 2, 400),
                                              ("decode", 2, 2, 400), ("decode", 3, 2, 400),
                                              ("decode", 4, 1, 400), ("decode", 5, 1, 400))]
    report = build_report(AccelConfig(rows=16, cols=16), records, prompt_tokens=10,
                          new_tokens=11, clock_mhz=100.0, model_seconds=1.0,
                          seconds={"total": 3.0, "build": 0.0, "simulator_session": 2.0})
    report["batch"] = cosim.transformer.batch_figures(records, [7, 3], [6, 5], 100.0)
    # 5 passes of 400 cycles: 100e6 / 400 per sequence; 5 + 4 tokens chosen in 2000 cycles
    assert report["batch"]["tokens_per_second_per_sequence"] == 250000.0
    assert report["batch"]["tokens_per_second_total"] == 100e6 * 9 / 2000
    run = cosim.transformer.TransformerBatchRun(
        new_ids=[ids for ids, _ in results], logits=[logits for _, logits in results],
        report=report, records=records)
    calls = []
    monkeypatch.setattr(cosim.transformer, "run_transformer_batch",
                        lambda *a, **k: calls.append((a, k)) or run)
    path = tmp_path / "logits.npz"
    status, out, err, _ = _run("cosim", [*_batch_argv(*PROMPTS[:2]), "--dump-logits",
                                         str(path), "--clock-mhz", "100"], capsys)
    assert (status, out) == (0, "123569\n0000\n")
    (checkpoint, given, steps), options = calls[0]
    assert [p.tolist() for p in given] == [p.tolist() for p in prompts] and steps == 7
    assert options["weight_port_bits"] is None and options["rows"] == 16
    assert "batch of 2 sequences at 100 MHz: 250000 decode tokens/s per sequence, 450000 in " \
           "total" in err.splitlines()
    with np.load(path) as archive:
        assert all(np.array_equal(archive[f"prompt_{i}"], logits)
                   for i, (_, logits) in enumerate(results))


@pytest.mark.parametrize("width", ["0", "3", "48", "1056", "-32"])
def test_a_bad_weight_port_width_is_the_config_message_under_the_option(width, capsys):
    from rtl.config import ConfigError
    with pytest.raises(ConfigError) as refused:
        AccelConfig(rows=16, cols=16, weight_port_bits=int(width))
    assert refused.value.field == "weight_port_bits"
    text = str(refused.value)
    expected = "--weight-port-bits" + text[len("weight_port_bits"):] \
        if text.startswith("weight_port_bits") else text
    status, out, err, prog = _run("cosim", [*BASE, "--weight-port-bits", width], capsys)
    assert (status, out, err) == (2, "", f"{prog}: error: {expected}\n")


def test_a_weight_port_width_reaches_the_run(capsys, monkeypatch):
    model = golden.load_checkpoint(CHECKPOINT)
    run = _canned_run(model, model.tokenizer.encode("531962="), 7)
    calls = []
    monkeypatch.setattr(cosim.transformer, "run_transformer_batch",
                        lambda *a, **k: calls.append(k) or run)
    width = 4 * 16 * 2                              # 4 rows of 16 i2 weights per beat
    status, out, err, _ = _run("cosim", [*BASE, "--weight-port-bits", str(width)], capsys)
    assert (status, out) == (0, "123569\n") and calls[0]["weight_port_bits"] == width


def test_argparse_refuses_a_weight_port_width_that_is_not_an_integer(capsys):
    status, out, err, prog = _run("cosim", [*BASE, "--weight-port-bits", "wide"], capsys)
    assert (status, out, err) == (2, "", f"{prog}: error: argument --weight-port-bits: "
                                         f"expected an integer, not 'wide'\n")
