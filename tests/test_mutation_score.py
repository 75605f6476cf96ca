"""benchmarks/mutation_score.py without running it (it takes long): its mutation list must
match the current hardware description (every old text exactly once in its file, so that no
mutation silently tests nothing), name each mutation once, cover every block, and give
mutants that are still Python (a syntax error would be a cheap kill, not a bug); and the
command line's errors are one line with exit status 2."""

import ast
import pathlib

import pytest

from benchmarks import mutation_score as score

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("mutation", score.MUTATIONS, ids=lambda m: m.description)
def test_mutation_applies_once_and_leaves_python(mutation):
    original = (ROOT / mutation.file).read_text()
    assert original.count(mutation.old) == 1
    mutant = score.check_mutation(mutation)
    assert mutant != original
    assert mutant.count(mutation.new) == original.count(mutation.new) + 1
    ast.parse(mutant, filename=mutation.file)


def test_every_block_has_a_mutation_and_descriptions_are_unique():
    assert len(score.MUTATIONS) >= 25
    descriptions = [m.description for m in score.MUTATIONS]
    assert len(set(descriptions)) == len(descriptions)
    assert {m.block for m in score.MUTATIONS} == set(score.BLOCKS)
    for mutation in score.MUTATIONS:
        assert mutation.file == score.BLOCKS[mutation.block], mutation.description
    expected_files = {"command", "tile_counter", "weight_store", "decoder", "pe", "pe_int8",
                      "array", "accumulator", "feeder", "delay_line", "pipeline",
                      "result_queue", "result_serializer", "drain", "skew", "config"}
    assert {pathlib.Path(f).stem for f in score.BLOCKS.values()} == expected_files


def test_formal_hints_name_existing_proofs():
    for mutation in score.MUTATIONS:
        for name in mutation.formal:
            assert name.startswith("test_formal_"), mutation.description
            assert (ROOT / "tests" / name).is_file(), name


def test_stale_mutations_are_refused_with_their_name(tmp_path):
    (tmp_path / "rtl").mkdir()
    (tmp_path / "rtl" / "x.py").write_text("a = 1\na = 1\n")
    twice = score.Mutation("rtl/x.py", "a = 1", "a = 2", "twice", "TernaryPE")
    with pytest.raises(score.StaleMutation, match=r"^mutation 'twice': its old text occurs 2 "
                       r"times in rtl/x\.py, not once: update the mutation \('a = 1'\)$"):
        score.check_mutation(twice, tmp_path)
    absent = score.Mutation("rtl/x.py", "b = 1", "b = 2", "absent", "TernaryPE")
    with pytest.raises(score.StaleMutation, match=r"occurs 0 times in rtl/x\.py"):
        score.check_mutation(absent, tmp_path)
    missing = score.Mutation("rtl/y.py", "a", "b", "missing", "TernaryPE")
    with pytest.raises(score.StaleMutation, match=r"^mutation 'missing': rtl/y\.py does not "
                       r"exist$"):
        score.check_mutation(missing, tmp_path)


def test_list_names_every_mutation_without_running(capsys):
    assert score.main(["--list", "--only", "1,3"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["1", "3"]
    assert score.MUTATIONS[2].description in lines[1]
    assert err == ""


N = len(score.MUTATIONS)


@pytest.mark.parametrize("argv, message", [
    (["--only", "0"], f"--only expects mutation numbers from 1 to {N} separated by commas, "
                      f"not '0'"),
    (["--only", f"{N + 1}"], f"--only expects mutation numbers from 1 to {N} separated by "
                             f"commas, not '{N + 1}'"),
    (["--only", "2,x"], f"--only expects mutation numbers from 1 to {N} separated by commas, "
                        f"not '2,x'"),
    (["--only", "4,4"], "--only names mutation 4 twice"),
    (["--suites", "amaranth,verilator"], "--suites expects names from amaranth, formal, "
                                         "cocotb, not 'verilator'"),
    (["--suites", "formal,formal"], "--suites names a suite twice: 'formal,formal'"),
    (["--timeout-factor", "0"], "argument --timeout-factor: expected a positive finite "
                                "number, not '0'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
])
def test_argument_errors_are_one_line(argv, message, capsys):
    assert score.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"mutation_score: error: {message}\n"
