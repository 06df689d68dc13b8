"""The ``gtp`` and ``model`` fuzz targets: ``python scripts/fuzz.py gtp|model --inputs N --seed S``.

Targets:
- ``gtp``: N command lines (well-formed commands with odd arguments, byte-level mutations
  of them, random bytes) through the GTP engine's decoding and dispatch, with the shipped
  model by default. Counts internal errors, framing errors (a response that is not ``=``/
  ``?`` + text + one blank line, or an error of more than one line), failing commands that
  changed the engine's state, and exceptions that escaped the engine. ``--tiny`` plays a
  random 3-layer k=8 net instead: the same code paths, many more lines a second.
- ``model``: N damaged copies of a model file (truncated, byte-flipped, zero-filled, NaN
  weights with a valid checksum, altered weights behind the checksum). Each must be refused
  with a one-line ModelFileError or load to exactly the original weights.

The summary is one JSON line; the exit status is 1 when anything failed. The suite's
bounded versions of these are in tests/test_gtp.py and tests/test_policy.py.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import torch

from gonet.gtp import GtpEngine, protocol_lines
from gonet.nets import PolicyConfig, PolicyNet
from gonet.policy import ModelFileError, content_checksum, default_model_path, load_net, save_model

WORDS = ("b w black white B x D4 Q16 T19 A1 K10 pass PASS I5 Z99 A0 a20 resign dead alive seki true 0 1 2 3 9 "
         "13 19 25 -1 300 361 1e999 1_9 0x10 nan inf -inf 7.5 -0 6.5 g.sgf out.sgf . # 50 10 ownership").split()


def valid_args(rng: random.Random, name: str, commands: list[str]) -> list[str]:
    """Arguments a GUI would send with ``name`` (empty for commands that take none)."""
    colour = rng.choice(["b", "w"])

    def vertex() -> str:
        return rng.choice("ABCDEFGHJKLMNOPQRST") + str(rng.randint(1, 19))

    table = {"play": [colour, vertex() if rng.random() < 0.95 else "pass"], "genmove": [colour],
             "reg_genmove": [colour], "kgs-genmove_cleanup": [colour], "lz-analyze": [colour, "10"],
             "komi": [rng.choice(["0", "0.5", "6.5", "7.5", "-3"])], "boardsize": ["19"],
             "fixed_handicap": [str(rng.randint(2, 9))], "place_free_handicap": [str(rng.randint(2, 30))],
             "set_free_handicap": [vertex() for _ in range(rng.randint(2, 5))],
             "loadsgf": ["g.sgf", str(rng.randint(1, 4))], "printsgf": ["out.sgf"],
             "time_left": [colour, str(rng.randint(0, 600)), str(rng.randint(0, 25))],
             "final_status_list": [rng.choice(["dead", "alive", "seki"])], "known_command": [rng.choice(commands)]}
    return table.get(name, [])


def random_line(rng: random.Random, commands: list[str]) -> bytes:
    """A command line: 45% as a GUI would send them (a third of them ``play``), 30% known or
    unknown commands with 0-4 odd arguments, 20% those mutated at the byte level (flips,
    inserts, deletes), 5% random bytes."""
    kind = rng.random()
    if kind < 0.05:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
    if kind >= 0.55:
        name = "play" if rng.random() < 0.33 else rng.choice(commands)
        return f"{rng.choice(['', '', '5 '])}{' '.join([name, *valid_args(rng, name, commands)])}".encode()
    name = rng.choice(commands) if rng.random() < 0.9 else rng.choice(["fly", "GENMOVE", "play\x00", ""])
    args = [rng.choice(WORDS) if rng.random() < 0.7 else str(rng.randint(-10**9, 10**9)) if rng.random() < 0.5
            else "".join(chr(rng.randrange(1, 0x3000)) for _ in range(rng.randrange(1, 6))).replace("/", "")
            for _ in range(rng.randrange(5))]
    prefix = rng.choice(["", "", "7 ", "12\t", "x "])
    raw = bytearray((prefix + " ".join([name, *args])).encode("utf-8", "surrogateescape"))
    if kind < 0.25:
        for _ in range(rng.randrange(1, 4)):
            op, at = rng.random(), rng.randrange(len(raw) + 1)
            if op < 0.4 and at < len(raw):
                raw[at] ^= 1 << rng.randrange(8)
            elif op < 0.7:
                raw[at:at] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
            else:
                del raw[at:at + rng.randrange(1, 4)]
    return bytes(raw).replace(b"\n", b" ").replace(b"/", b"_")  # one line; no paths outside the folder


def engine_state(engine: GtpEngine) -> tuple:
    """Everything a GTP command can change, comparable with ``==``."""
    g = engine.game
    return (id(g), g.board.state.tobytes(), g.size, g.to_move, g.move_number, g.komi, engine.komi, g.handicap,
            sorted(engine.time_left.items()), engine.time_settings)


def framing_problem(response: str) -> str | None:
    if not response.endswith("\n\n") or "\n\n" in response[:-2]:
        return "blank lines"
    if not re.match(r"[=?]\d*( |\n|$)", response):
        return "no = or ?"
    if response.startswith("?") and "\n" in response[:-2]:
        return "error of several lines"
    return None


def fuzz_gtp(inputs: int, seed: int, model: str | None, tiny: bool = False) -> dict:
    rng = random.Random(seed)
    counts: Counter = Counter()
    examples: dict[str, str] = {}
    slowest = (0.0, "")
    model = str(Path(model).resolve()) if model else None
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)  # printsgf writes and loadsgf reads here (the lines hold no "/")
        Path("g.sgf").write_text("(;GM[1]SZ[19]KM[6.5];B[pd];W[dp];B[pp])")
        if tiny:
            torch.manual_seed(seed)
            model = str(save_model(PolicyNet(PolicyConfig(filters=8, layers=3)), Path(folder) / "tiny.pt"))
        engine = GtpEngine(model, seed=seed)
        commands = sorted(engine.commands)
        engine.player  # wait for the model, so that lines/s measures commands, not loading
        start = time.perf_counter()
        for _ in range(inputs):
            raw = random_line(rng, commands)
            for line in protocol_lines(io.BytesIO(raw + b"\n")):
                before = engine_state(engine)
                tick = time.perf_counter()
                try:
                    response = engine.handle(line)
                except Exception as e:  # escaped the engine: the GUI's connection would die
                    counts["crashes"] += 1
                    examples.setdefault("crash", f"{line!r}: {type(e).__name__}: {e}")
                    continue
                slowest = max(slowest, (time.perf_counter() - tick, line))
                counts["lines"] += 1
                if response is None:
                    counts["ignored (blank or comment)"] += 1
                    continue
                counts["ok" if response.startswith("=") else "errors"] += 1
                problems = {"framing errors": framing_problem(response),
                            "internal errors": "internal error" in response,
                            "failed but changed the state": response.startswith("?")
                            and engine_state(engine) != before}
                for what, problem in problems.items():
                    if problem:
                        counts[what] += 1
                        examples.setdefault(what, f"{line!r} -> {response!r}")
                if engine.game.move_number > 300:  # keep positions varied, not one endless game
                    engine.handle("clear_board")
        seconds = time.perf_counter() - start
        os.chdir(cwd)
    bad = sum(counts[k] for k in ("crashes", "framing errors", "internal errors", "failed but changed the state"))
    return {"target": "gtp", "inputs": inputs, "seed": seed,
            "model": "tiny random l3k8" if tiny else str(model or default_model_path()),
            **dict(counts), "failures": bad, "seconds": round(seconds, 1),
            "lines_per_s": round(counts["lines"] / seconds, 1),
            "slowest": [round(slowest[0], 3), slowest[1]], "examples": examples}


def damaged_copy(rng: random.Random, raw: bytes, blob: dict, path: Path) -> str:
    """Write one damaged variant of the model to ``path``; returns its kind."""
    kind = rng.choice(["truncate", "flip", "flip200", "zeros", "nan", "altered"])
    data = bytearray(raw)
    if kind == "truncate":
        data = data[: rng.randrange(len(data))]
    elif kind in ("flip", "flip200"):
        for _ in range(1 if kind == "flip" else 200):
            data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    elif kind == "zeros":
        at, length = rng.randrange(len(data)), rng.randrange(1, 4096)
        data[at:at + length] = bytes(len(data[at:at + length]))
    if kind in ("nan", "altered"):
        state = dict(blob["state_dict"])
        name = rng.choice(sorted(state))
        state[name] = state[name].clone()
        state[name].view(-1)[rng.randrange(state[name].numel())] = float("nan") if kind == "nan" else 1.0
        torch.save({**blob, "state_dict": state, "sha256": content_checksum(state) if kind == "nan"
                    else blob["sha256"]}, path)
    else:
        path.write_bytes(bytes(data))
    return kind


def fuzz_model(inputs: int, seed: int, model: str | None) -> dict:
    rng = random.Random(seed)
    source = Path(model or default_model_path())
    raw = source.read_bytes()
    blob = torch.load(source, weights_only=True)
    original = load_net(source)[0].state_dict()
    counts: Counter = Counter()
    examples: dict[str, str] = {}
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "damaged.pt"
        for _ in range(inputs):
            kind = damaged_copy(rng, raw, blob, path)
            try:
                net = load_net(path)[0]
            except ModelFileError as e:
                message = str(e)
                counts["refused"] += 1
                if "\n" in message or "weights_only" in message:
                    counts["bad messages"] += 1
                    examples.setdefault("bad message", message)
                continue
            except Exception as e:
                counts["crashes"] += 1
                examples.setdefault("crash", f"{kind}: {type(e).__name__}: {e}")
                continue
            same = all(torch.equal(net.state_dict()[k], original[k]) for k in original)
            counts["loaded, identical" if same else "loaded WRONG weights"] += 1
            if not same:
                examples.setdefault("wrong weights", kind)
    bad = counts["crashes"] + counts["bad messages"] + counts["loaded WRONG weights"]
    return {"target": "model", "inputs": inputs, "seed": seed, "model": str(source), **dict(counts),
            "failures": bad, "seconds": round(time.perf_counter() - start, 1), "examples": examples}


TARGETS = {"gtp": lambda a: fuzz_gtp(a.inputs, a.seed, a.model, a.tiny),
           "model": lambda a: fuzz_model(a.inputs, a.seed, a.model)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("target", choices=sorted(TARGETS))
    parser.add_argument("--inputs", type=int, default=1000, help="fuzzed inputs (GTP lines, model files)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model", help="model file (default: the shipped one)")
    parser.add_argument("--tiny", action="store_true", help="gtp: play a random 3-layer k=8 net (faster)")
    args = parser.parse_args(argv)
    summary = TARGETS[args.target](args)
    print(json.dumps(summary))
    return 1 if summary["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
