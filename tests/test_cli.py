"""The gonet command: --version, and misuse answered with one line and exit status 2."""

import importlib
import re
import time
from pathlib import Path

import pytest
import torch

from gonet import __version__
from gonet.cli import main
from gonet.modelfile import NetOptions
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import save_model


def run(argv: list[str], capsys) -> tuple[int, str]:
    """(exit status, stderr) of ``gonet ARGV`` run in-process."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's exits
        code = e.code
    return code, capsys.readouterr().err


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out == f"gonet {__version__}\n"


def misuse_cases(tmp: Path) -> list[tuple[list[str], str]]:
    afile = tmp / "afile"
    afile.write_text("x")
    (tmp / "empty").mkdir()
    torch.manual_seed(0)
    tiny = str(save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), tmp / "tiny.pt"))  # loads fast
    return [
        (["prepare", "data/sgf", "--out", str(afile)], "exists and is not a folder"),
        (["prepare", "data/sgf", "--out", str(tmp / "o"), "--size", "52"], "--size: 52: must be between 2 and 25"),
        (["prepare", "data/sgf", "--out", str(tmp / "o"), "--val-fraction", "7"], "must be between 0 and 1"),
        (["eval", str(tmp / "empty"), "--model", tiny], "no 19x19 positions to evaluate"),
        (["eval", "data/sgf", "--model", str(afile)], "not a readable model file"),
        (["eval", "data/sgf", "--max-positions", "0"], "must be at least 1"),
        (["match", "--komi", "nan"], "not a finite number"),
        (["match", "--games", "1", "--opponent", str(tmp / "no-engine"), "--engine", str(tmp / "no-engine"),
          "--out", str(tmp / "m")], "No such file or directory"),
        (["gtp", "--model", str(tmp / "missing.pt")], "no such model file"),
        (["gtp", "--symmetries", "9"], "must be between 1 and 8"),
        (["speech", "eval", "--model", str(tmp / "missing.pt")], "no such speech model file"),
        (["mnist", "eval", "--model", str(tmp / "missing.pt")], "no such mnist model file"),
        (["read", "data/sgf", "--size", "0"], "must be between"),
    ] + ([] if torch.cuda.is_available() else [
        (["eval", "data/sgf", "--model", tiny, "--device", "cuda"], "no CUDA GPU is available here"),
        (["selfplay", "--model", tiny, "--device", "cuda", "--out", str(tmp / "s.sgf")],
         "no CUDA GPU is available here"),
    ])


def test_misuse_is_one_line_and_exit_status_2(tmp_path, capsys):
    """Each misuse from the fuzzing report: exit status 2 and exactly one line on stderr
    (no traceback, no usage block), naming the problem."""
    for argv, message in misuse_cases(tmp_path):
        code, err = run(argv, capsys)
        lines = [line for line in re.split(r"[\r\n]", err)
                 if line.strip() and not line.startswith(("eval:", "match:"))]  # tqdm progress bars
        assert code == 2 and len(lines) == 1 and message in lines[0], (argv, code, err)


def test_speech_eval_of_a_missing_model_fails_at_once(tmp_path, capsys):
    """No spectrograms are computed (that took minutes) before a missing model is reported."""
    start = time.perf_counter()
    code, _ = run(["speech", "eval", "--model", str(tmp_path / "missing.pt"), "--data", str(tmp_path)], capsys)
    assert code == 2 and time.perf_counter() - start < 1.0


@pytest.mark.parametrize("command, module", [("gtp", "gonet.gtp"), ("analysis", "gonet.analysis"),
                                             ("play", "gonet.gui.app")])
def test_the_net_flags_reach_the_engines_that_load_the_net(command, module, monkeypatch):
    """``--model``, ``--device``, ``--threads N`` and ``--precision P`` are handed to gtp,
    analysis and play as one NetOptions; without them the shipped model on the CPU, torch's
    default threads (None) and auto."""
    seen = []
    monkeypatch.setattr(importlib.import_module(module), "main", lambda net, *a, **k: seen.append(net) or 0)
    flags = ["--model", "m.pt", "--device", "cuda", "--threads", "1", "--precision", "fp32"]
    assert main([command, *flags]) == 0 and main([command]) == 0
    assert seen == [NetOptions("m.pt", "cuda", 1, "fp32"), NetOptions()]


def test_match_passes_threads_to_its_default_engine(monkeypatch, capsys):
    """``gonet match --threads 1 --precision bf16 --model M`` starts its default gonet engine with
    them (the path quoted for the shell)."""
    engines = []

    def fake_match(engine, *args, **kwargs):
        engines.append(engine)
        return {"wins": {"gonet": 0}, "games": 0, "win_rate": 0.0, "win_rate_95": (0.0, 1.0), "seconds_per_move": 0}

    monkeypatch.setattr(importlib.import_module("gonet.match"), "run_match", fake_match)
    assert main(["match", "--threads", "1", "--precision", "bf16", "--model", "my model.pt"]) == 0
    assert main(["match"]) == 0
    assert engines[0].endswith(" --model 'my model.pt' --threads 1 --precision bf16")
    assert not {"--model", "--device", "--threads", "--precision"} & set(engines[1].split())
    code, err = run(["match", "--threads", "0"], capsys)
    assert code == 2 and "must be at least 1" in err
