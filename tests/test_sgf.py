"""Tests for gonet.sgf: SGF files, collections, .gz files, folders and archives -> GameRecords."""

from __future__ import annotations

import gzip
import io
import itertools
import json
import pickle
import random
import statistics
import tarfile
import tempfile
import time
import zipfile
import zlib
from pathlib import Path

import os
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgfmill import sgf as sgfmill_sgf

from gonet.coords import BLACK, WHITE, vertex_to_idx
import gonet.sgf as sgf_module
from gonet.sgf import (
    GameRecord,
    ReadStats,
    SgfError,
    iter_sgf_blobs,
    parse_game,
    read_records,
    source_files,
    split_games,
)

FIXTURES = Path(__file__).resolve().parents[1] / "data" / "sgf"


def v(vertex: str, size: int = 19) -> int:
    """GTP vertex -> idx, so expected moves read as points on a board."""
    return vertex_to_idx(vertex, size)


def read_all(sources, size=None) -> tuple[list[GameRecord], ReadStats]:
    stats = ReadStats()
    records = list(read_records([Path(s) for s in sources], stats, size=size))
    return records, stats


def game(body: str, size: int = 9) -> bytes:
    """A small game: root with SZ, then ``body`` (nodes, each starting with ';')."""
    return f"(;GM[1]FF[4]SZ[{size}]{body})".encode()


def skip_reason(data: bytes) -> str:
    """The reason parse_game gives for rejecting ``data``."""
    with pytest.raises(SgfError) as info:
        parse_game(data, "t.sgf")
    return info.value.reason


# ---------------------------------------------------------------- one game


def test_handicap_game_fixture():
    """HA/KM/RE are read; root AB gives setup stones in the order written; White moves first."""
    record = parse_game((FIXTURES / "handicap.sgf").read_bytes(), "handicap.sgf")
    assert record.size == 19
    assert record.handicap == 2
    assert record.komi == 0.5
    assert record.result == "W+3.5"
    # AB[pd][dp]: pd is Q16 = row 3, col 15 = idx 72; dp is D4 = row 15, col 3 = idx 288
    assert record.setup == [(BLACK, 72), (BLACK, 288)]
    assert record.setup == [(BLACK, v("Q16")), (BLACK, v("D4"))]
    assert record.moves[:3] == [(WHITE, 60), (BLACK, 300), (WHITE, 54)]  # W[dd] D16, B[pp] Q4, W[qc] R17
    assert record.moves == [
        (WHITE, v("D16")),
        (BLACK, v("Q4")),
        (WHITE, v("R17")),
        (BLACK, v("R16")),
        (WHITE, v("Q17")),
        (BLACK, v("P16")),  # the node whose comment holds '\]' and parentheses
        (WHITE, v("O17")),
    ]
    assert record.player_to_move_first == WHITE
    assert record.name == "handicap.sgf"


def test_setup_fixture_rectangle_and_ae():
    """AB with a compressed rectangle expands row by row; AE removes a point listed before it."""
    record = parse_game((FIXTURES / "setup.sgf").read_bytes())
    # AB[aa] -> 0; AB[bb:cc] -> 10, 11, 19, 20; AW[ia] -> 8; AE[bb] removes 10
    assert record.setup == [(BLACK, 0), (BLACK, 11), (BLACK, 19), (BLACK, 20), (WHITE, 8)]
    assert record.moves == []
    assert record.player_to_move_first == WHITE  # PL[W]
    assert (record.komi, record.handicap, record.result) == (0.0, 0, None)


def test_ae_before_ab_removes_nothing():
    """Root AE only removes stones listed before it; AB/AW given twice keep the last colour."""
    assert parse_game(game("AE[cc]AB[cc]")).setup == [(BLACK, 20)]
    assert parse_game(game("AB[cc]AW[cc]")).setup == [(WHITE, 20)]
    assert parse_game(game("AB[]AE[]")).setup == []  # empty lists


def test_passes_fixture():
    """B[] / W[] are passes, and so is tt on 19x19; all give idx 361; RE[0] is kept as "0"."""
    record = parse_game((FIXTURES / "passes.sgf").read_bytes())
    assert record.moves == [(BLACK, 72), (WHITE, 361), (BLACK, 361), (WHITE, 288), (BLACK, 361), (WHITE, 361)]
    assert record.result == "0"
    assert record.komi == 6.5


@pytest.mark.parametrize(
    "size, value, idx",
    [
        (19, "", 361),
        (19, "tt", 361),
        (19, "ss", 360),  # S1, the last point
        (9, "tt", 81),  # tt is a pass on every board up to 19x19
        (20, "tt", 19 * 20 + 19),  # on larger boards tt is the point (19, 19)
        (21, "tt", 418),  # 19 * 21 + 19
        (21, "", 441),
        (25, "yy", 624),
        (25, "", 625),
    ],
)
def test_pass_and_tt_table(size, value, idx):
    """Which move values are passes (idx size*size) and which are points, board by board."""
    assert parse_game(game(f";B[{value}]", size)).moves == [(BLACK, idx)]


def test_km_re_defaults_and_values():
    """KM/HA/RE are read as written, with 0.0 / 0 / None when absent."""
    record = parse_game(b"(;SZ[19]KM[-7.5]HA[0]RE[B+R];B[pd])")
    assert (record.komi, record.handicap, record.result) == (-7.5, 0, "B+R")
    record = parse_game(b"(;;B[pd])")  # no root properties at all: 19x19
    assert (record.size, record.komi, record.handicap, record.result) == (19, 0.0, 0, None)
    assert parse_game(b"(;KM[375]RE[Void])").komi == 375.0
    assert parse_game(b"(;RE[W+Time])").result == "W+Time"


def test_small_9x9_main_line_only():
    """A 9x9 record parses; only the first variation at each node is read."""
    record = parse_game((FIXTURES / "small_9x9.sgf").read_bytes())
    assert record.size == 9
    assert record.komi == 7.0
    assert record.result == "B+R"
    # B[ee] E5, W[cc] C7, B[gg] G3 (first variation), W[gc] G7
    assert record.moves == [(BLACK, 40), (WHITE, 20), (BLACK, 60), (WHITE, 24)]
    assert record.moves == [(BLACK, v("E5", 9)), (WHITE, v("C7", 9)), (BLACK, v("G3", 9)), (WHITE, v("G7", 9))]


def test_same_colour_twice_read_as_written():
    """Moves are read as written: nothing assumes the colours alternate."""
    record = parse_game(game(";B[ee];B[cc];W[gg];W[gc];W[];B[aa]"))
    assert record.moves == [(BLACK, 40), (BLACK, 20), (WHITE, 60), (WHITE, 24), (WHITE, 81), (BLACK, 0)]
    record = parse_game(game(";W[ee];W[cc]"))
    assert record.player_to_move_first == WHITE


def test_move_in_root_and_empty_nodes():
    """A move in the root node is the first move; nodes without B/W are passed over."""
    record = parse_game(b"(;SZ[9]B[ee];C[comment only];;W[cc])")
    assert record.moves == [(BLACK, 40), (WHITE, 20)]


@pytest.mark.parametrize(
    "sgf_text, first",
    [
        ("(;SZ[9])", BLACK),
        ("(;SZ[9]PL[W])", WHITE),
        ("(;SZ[9]PL[b])", BLACK),
        ("(;SZ[9]HA[2]AB[cc][gg])", WHITE),  # handicap stones and nothing else
        ("(;SZ[9]HA[2]AB[cc][gg]PL[B])", BLACK),  # PL wins over the handicap rule
        ("(;SZ[9]HA[2]AB[cc]AW[gg])", BLACK),  # white stones too: not a plain handicap
        ("(;SZ[9]AB[cc][gg])", BLACK),  # no HA
        ("(;SZ[9]HA[2])", BLACK),  # HA but no stones placed
        ("(;SZ[9]HA[2]AB[cc][gg]PL[W];B[ee])", BLACK),  # the first move node wins over all
        ("(;SZ[9];W[ee])", WHITE),
    ],
)
def test_player_to_move_first(sgf_text, first):
    """player_to_move_first: first move's colour, else PL, else WHITE after handicap stones, else BLACK."""
    assert parse_game(sgf_text.encode()).player_to_move_first == first


@pytest.mark.parametrize(
    "sgf_text, reason",
    [
        ("(;SZ[9];B[ee];AB[cc];W[gg])", "setup after root"),
        ("(;SZ[9];B[ee];AE[ee];W[gg])", "setup after root"),
        ("(;SZ[9];B[ee]W[cc])", "B and W in one node"),
        ("(;SZ[9];B[ja])", "bad move"),  # column j is off a 9x9 board
        ("(;SZ[9];B[aj])", "bad move"),
        ("(;SZ[9];B[a])", "bad move"),
        ("(;SZ[9];B[AA])", "bad move"),
        ("(;SZ[9];B[aa][bb])", "bad move"),  # two values
        ("(;SZ[9];B[aa]B[bb])", "bad move"),  # the property twice
        ("(;SZ[19];W[zz])", "bad move"),
        ("(;SZ[21];W[vv])", "bad move"),  # v = 21 is off a 21x21 board
        ("(;SZ[9]AB[jj])", "bad setup"),
        ("(;SZ[9]AB[tt])", "bad setup"),  # tt is no point on 9x9
        ("(;SZ[9]AB[cc:aa])", "bad setup"),  # corners the wrong way round
        ("(;SZ[1])", "board size 1"),
        ("(;SZ[26])", "board size 26"),
        ("(;SZ[19:13])", "bad board size"),
        ("(;SZ[big])", "bad board size"),
        ("(;KM[six])", "bad KM"),
        ("(;KM[1e308])", "bad KM"),  # would be inf in the shards' float32 komi
        ("(;KM[-1001])", "bad KM"),
        ("(;KM[nan])", "bad KM"),
        ("(;HA[x])", "bad HA"),
        ("(;HA[-1])", "bad HA"),
        ("(;PL[X])", "bad PL"),
        ("(;RE[B+R][W+R])", "bad RE"),
        ("(;SZ[9];B[ee];W)", "parse error"),
        ("(;SZ[9];B[ee]", "parse error"),
        ("(SZ[9])", "no game found"),
        ("", "empty file"),
        (" \n\t", "empty file"),
        ("just some text", "no game found"),
    ],
)
def test_bad_games_table(sgf_text, reason):
    """Each kind of bad game raises SgfError with its reason key."""
    assert skip_reason(sgf_text.encode()) == reason


def test_parse_game_size_filter():
    """parse_game(size=...) rejects other board sizes as "board size N" and accepts its own."""
    with pytest.raises(SgfError, match="board size 9"):
        parse_game(game(";B[ee]", 9), "x.sgf", size=19)
    assert parse_game(game(";B[ee]", 9), "x.sgf", size=9).moves == [(BLACK, 40)]


@pytest.mark.parametrize("size", [2, 9, 13, 19, 25])
def test_supported_sizes(size):
    """Boards from 2x2 to 25x25 parse; the last point is idx size*size-1."""
    last = "abcdefghijklmnopqrstuvwxy"[size - 1] * 2
    assert parse_game(game(f";B[aa];W[{last}]", size)).moves == [(BLACK, 0), (WHITE, size * size - 1)]


def test_encodings():
    """RE is decoded in the CA charset; undecodable RE is "bad encoding"; unknown CA falls back to latin-1."""
    assert parse_game("(;CA[UTF-8]RE[B+Résignation])".encode()).result == "B+Résignation"
    assert parse_game("(;RE[W+é])".encode("latin-1")).result == "W+é"  # no CA: ISO-8859-1
    assert skip_reason(b"(;CA[UTF-8]RE[B+\xff])") == "bad encoding"
    assert parse_game("(;CA[klingon]RE[W+é];B[aa])".encode("latin-1")).result == "W+é"
    assert skip_reason("(;SZ[9];B[ee])".encode("utf-16")) == "not text"


@pytest.mark.parametrize(
    "charset, result",
    [
        ("zlib", "W+é"),  # bytes codecs: sgfmill took them, then failed on RE with a LookupError
        ("hex", "W+é"),
        ("base64", "W+é"),
        ("bz2", "W+é"),
        ("uu", "W+é"),
        ("quopri", "W+é"),
        ("rot13", "W+é"),  # a str-to-str codec: no text encoding either
        ("klingon", "W+é"),  # no codec at all
        ("latin-1", "W+é"),
        ("UTF-16", "bad encoding"),  # a text encoding that RE is not in
        ("punycode", "bad encoding"),  # a codec whose own error is a UnicodeError
    ],
)
def test_charset_that_is_no_text_encoding_reads_as_latin1(charset, result):
    """A CA naming no text encoding is read as ISO-8859-1, as if absent; never an exception but SgfError."""
    data = f"(;CA[{charset}]SZ[9]RE[W+é];B[ee])".encode("latin-1")
    try:
        record = parse_game(data, "t.sgf")
    except SgfError as e:
        assert e.reason == result
    else:
        assert (record.result, record.moves) == (result, [(BLACK, 40)])


def test_bytes_codec_charset_costs_no_other_game(tmp_path):
    """One file with CA[zlib] among others: the run reads every game (it used to end with a traceback)."""
    (tmp_path / "a.sgf").write_bytes(game(";B[aa]"))
    (tmp_path / "b.sgf").write_bytes(b"(;CA[zlib]SZ[9]RE[B+R];B[bb])")
    (tmp_path / "c.sgf").write_bytes(game(";B[cc]"))
    records, stats = read_all([tmp_path])
    assert [r.moves for r in records] == [[(BLACK, 0)], [(BLACK, 10)], [(BLACK, 20)]]
    assert records[1].result == "B+R" and not stats.skipped


def test_sgf_error_message_and_pickle():
    """SgfError is a ValueError naming the record and reason, and survives pickling (for workers)."""
    with pytest.raises(ValueError) as info:
        parse_game(b"(;SZ[9];B[ee];W[zz])", "games.sgf#4")
    error = info.value
    assert isinstance(error, SgfError)
    assert str(error) == "games.sgf#4: bad move (W[zz] (move 2) on 9x9)"
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.name, copy.reason, copy.detail, str(copy)) == (error.name, error.reason, error.detail, str(error))
    assert str(SgfError("", "parse error")) == "<sgf>: parse error"


# ---------------------------------------------------------------- collections and files


def test_collection_with_broken_middle_game():
    """A 3-game file whose middle game is broken yields games 0 and 2 and counts 1 parse error."""
    records, stats = read_all([FIXTURES / "collection.sgf"])
    assert [r.name for r in records] == ["collection.sgf#0", "collection.sgf#2"]
    assert [r.result for r in records] == ["B+R", "B+2.5"]
    assert records[1].moves == [(BLACK, 20), (WHITE, 60), (BLACK, 56), (WHITE, 24)]
    assert stats.games == 2
    assert stats.positions == 3 + 4
    assert stats.skipped == {"parse error": 1}


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"(;B[aa])(;B[bb])", [b"(;B[aa])", b"(;B[bb])"]),
        (b"junk (;B[aa]) junk\n(;B[bb]) tail", [b"(;B[aa])", b"(;B[bb])"]),
        (b"(;B[aa](;W[bb])(;W[cc]))(;B[dd])", [b"(;B[aa](;W[bb])(;W[cc]))", b"(;B[dd])"]),
        (b"(;C[a ) in a comment \\] still];B[aa])(;B[bb])", [b"(;C[a ) in a comment \\] still];B[aa])", b"(;B[bb])"]),
        # missing ')': the game ends where the next game's root begins
        (b"(;GM[1];B[aa]\n(;GM[1];B[bb])", [b"(;GM[1];B[aa]\n", b"(;GM[1];B[bb])"]),
        # a stray ']' breaks the game; reading resumes at the next root, not inside a variation
        (b"(;GM[1];B[aa]](;W[bb]))(;FF[4];B[cc])", [b"(;GM[1];B[aa]](;W[bb]))", b"(;FF[4];B[cc])"]),
        (b"(;GM[1];B[aa]", [b"(;GM[1];B[aa]"]),
        # cut inside a comment: the '[' never closed must not take the next game with it
        (b"(;GM[1]C[cut\n(;GM[1];B[bb])", [b"(;GM[1]C[cut\n", b"(;GM[1];B[bb])"]),
        (b"(;GM[1]C[cut\\\n(;FF[4];B[bb])", [b"(;GM[1]C[cut\\\n", b"(;FF[4];B[bb])"]),  # cut after a '\\'
        (b"(;GM[1];B[\n(;SZ[9];B[bb])", [b"(;GM[1];B[\n", b"(;SZ[9];B[bb])"]),
        (b"(;GM[1];B[aa](;W[\n(;ST[2];B[bb])", [b"(;GM[1];B[aa](;W[\n", b"(;ST[2];B[bb])"]),
        # a comment may hold parentheses and a '(;' that opens no root
        (b"(;C[see (;B[aa\\]) here];B[aa])(;B[bb])", [b"(;C[see (;B[aa\\]) here];B[aa])", b"(;B[bb])"]),
        (b"no games here", []),
    ],
)
def test_split_games_table(data, expected):
    """split_games cuts a collection into games by bracket matching, resynchronising after broken ones."""
    assert split_games(data) == expected


def test_split_games_stays_linear():
    """A value holding many roots (each a broken game of its own) splits in linear time, not by
    rescanning to the end for each: 80,000 of them in 400 kB take about a second."""
    data = b"(;GM[1]C[" + b"(;GM[" * 80_000 + b"]"
    started = time.perf_counter()
    games = split_games(data)
    assert len(games) == 80_001 and b"".join(games) == data
    assert time.perf_counter() - started < 10  # 0.3-1.5 s on the dev box; rescanning took minutes


def test_collection_resyncs_after_unclosed_game(tmp_path):
    """A game missing its ')' costs only that game; the next game (root with GM) is read."""
    path = tmp_path / "c.sgf"
    path.write_bytes(b"(;GM[1]SZ[9];B[ee]\n(;GM[1]SZ[9];B[cc])\n(;GM[1]SZ[9];W[gg])\n")
    records, stats = read_all([path])
    assert [(r.name, r.moves) for r in records] == [("c.sgf#1", [(BLACK, 20)]), ("c.sgf#2", [(WHITE, 60)])]
    assert stats.skipped == {"parse error": 1}


TRUNCATED = (FIXTURES / "handicap.sgf").read_bytes().rstrip()  # comments with ']' and '(', setup, a long root
INTACT = (FIXTURES / "small_9x9.sgf").read_bytes()  # variations


@pytest.mark.parametrize("separator", [b"\n", b""])
def test_game_cut_at_any_byte_costs_only_itself(tmp_path, separator):
    """A game cut short at any byte, then an intact game: the intact one is read, the cut one is one skip.

    (It used to be that a cut inside a property value swallowed the next game: 0 read.)
    """
    expected = parse_game(INTACT)
    path = tmp_path / "c.sgf"
    for cut in range(2, len(TRUNCATED)):  # from "(;" to all but the closing ')'
        path.write_bytes(TRUNCATED[:cut] + separator + INTACT)
        records, stats = read_all([path])
        assert (stats.games, sum(stats.skipped.values())) == (1, 1), (cut, stats.summary())
        assert (records[0].name, records[0].moves, records[0].result) == ("c.sgf#1", expected.moves, "B+R"), cut


def test_garbage_empty_and_text_files(tmp_path):
    """Binary junk, an empty file and text without a game are each counted once, never raised."""
    (tmp_path / "junk.sgf").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "empty.sgf").write_bytes(b"")
    (tmp_path / "text.sgf").write_bytes(b"this is not an sgf file\n")
    records, stats = read_all(sorted(tmp_path.iterdir()))
    assert records == []
    assert stats.skipped == {"not text": 1, "empty file": 1, "no game found": 1}
    assert stats.summary() == "read 0 games, 0 positions; skipped 3 (empty file: 1, no game found: 1, not text: 1)"


def test_explicit_file_with_other_suffix_is_read_as_sgf(tmp_path):
    """A file named explicitly is parsed as SGF whatever its suffix (a folder ignores such files)."""
    path = tmp_path / "game.txt"
    path.write_bytes(game(";B[ee]"))
    records, _ = read_all([path])
    assert [r.moves for r in records] == [[(BLACK, 40)]]
    records, stats = read_all([tmp_path])
    assert records == [] and stats.games == 0 and not stats.skipped


def test_missing_source_raises_at_call():
    """A missing path is a user error: FileNotFoundError at call time, before anything is read."""
    with pytest.raises(FileNotFoundError):
        read_records([FIXTURES / "handicap.sgf", FIXTURES / "no-such-file.sgf"])
    with pytest.raises(FileNotFoundError):
        iter_sgf_blobs(FIXTURES / "no-such-folder")


def test_single_source_path_accepted():
    """read_records also takes one path (not only a list of them)."""
    assert [r.name for r in read_records(FIXTURES / "passes.sgf")] == ["passes.sgf"]


def test_size_filter(tmp_path):
    """9x9 and 13x13 records parse; with size=19 they are skipped as "board size 9" / "board size 13"."""
    (tmp_path / "a9.sgf").write_bytes(game(";B[ee]", 9))
    (tmp_path / "b13.sgf").write_bytes(game(";B[gg]", 13))  # G7, the centre: idx 6 * 13 + 6
    (tmp_path / "c19.sgf").write_bytes(game(";B[pd]", 19))
    records, stats = read_all([tmp_path])
    assert [(r.size, r.moves) for r in records] == [(9, [(BLACK, 40)]), (13, [(BLACK, 84)]), (19, [(BLACK, 72)])]
    records, stats = read_all([tmp_path], size=19)
    assert [r.name for r in records] == [f"{tmp_path.name}/c19.sgf"]
    assert stats.skipped == {"board size 9": 1, "board size 13": 1}
    with pytest.raises(ValueError):
        read_records([tmp_path], size=30)


def test_folder_recursive_sorted(tmp_path):
    """A folder is read recursively in sorted path order, every supported kind, other files ignored."""
    root = tmp_path / "games"
    (root / "b").mkdir(parents=True)
    (root / "z.sgf").write_bytes(game(";B[aa]"))
    (root / "notes.txt").write_bytes(b"not read")
    (root / "b" / "c.sgf.gz").write_bytes(gzip.compress(game(";B[bb]")))
    (root / "a.sgf").write_bytes(game(";B[cc]"))
    (root / "b" / "d.tar.gz").write_bytes(make_archive("tar.gz", {"x.sgf": game(";B[dd]")}))
    names = [name for name, _ in iter_sgf_blobs(root)]
    assert names == ["games/a.sgf", "games/b/c.sgf.gz", "games/b/d.tar.gz:x.sgf", "games/z.sgf"]
    records, stats = read_all([root])
    assert [r.moves[0][1] for r in records] == [20, 10, 30, 0]
    assert stats.games == 4 and not stats.skipped


def make_archive(kind: str, members: dict[str, bytes]) -> bytes:
    """An archive of ``kind`` ("zip", "tar", "tar.gz", "tgz", "tar.bz2", "tar.xz") holding ``members``."""
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("folder/", b"")
            for name, data in members.items():
                archive.writestr(name, data)
        return buffer.getvalue()
    mode = {"tar": "w", "tar.gz": "w:gz", "tgz": "w:gz", "tar.bz2": "w:bz2", "tar.xz": "w:xz"}[kind]
    with tarfile.open(fileobj=buffer, mode=mode) as archive:
        directory = tarfile.TarInfo("folder")
        directory.type = tarfile.DIRTYPE
        archive.addfile(directory)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


ARCHIVE_MEMBERS = {
    "folder/b.sgf": game(";B[bb]"),
    "folder/a.sgf": game(";B[aa]"),  # archive order, not sorted: b before a
    "README.txt": b"ignored",
    "more/c.sgf.gz": gzip.compress(game(";W[cc]")),
    "more/three.sgfs": game(";B[dd]") + b"\n" + game(";B[ee]") + b"\n" + game(";B[ff]"),
}
ARCHIVE_NAMES = [
    "folder/b.sgf",
    "folder/a.sgf",
    "more/c.sgf.gz",
    "more/three.sgfs#0",
    "more/three.sgfs#1",
    "more/three.sgfs#2",
]
ARCHIVE_MOVES = [(BLACK, 10), (BLACK, 0), (WHITE, 20), (BLACK, 30), (BLACK, 40), (BLACK, 50)]


@pytest.mark.parametrize("kind", ["tar.gz", "tgz", "tar.bz2", "tar.xz", "tar", "zip"])
def test_archive_kinds(tmp_path, kind):
    """Each archive kind is read in place, in archive order: SGF, gzipped SGF and collection members."""
    path = tmp_path / f"games.{kind}"
    path.write_bytes(make_archive(kind, ARCHIVE_MEMBERS))
    records, stats = read_all([path])
    assert [r.name for r in records] == [f"games.{kind}:{name}" for name in ARCHIVE_NAMES]
    assert [r.moves[0] for r in records] == ARCHIVE_MOVES
    assert stats.summary() == "read 6 games, 6 positions; skipped 0"


def test_gz_files(tmp_path):
    """.sgf.gz holds one game; .sgfs.gz a collection, whose games are named file#i."""
    (tmp_path / "one.sgf.gz").write_bytes(gzip.compress(game(";B[ee]")))
    (tmp_path / "many.sgfs.gz").write_bytes(gzip.compress(b"\n".join(game(f";B[{c}{c}]") for c in "abc")))
    records, stats = read_all([tmp_path / "one.sgf.gz", tmp_path / "many.sgfs.gz"])
    assert [(r.name, r.moves) for r in records] == [
        ("one.sgf.gz", [(BLACK, 40)]),
        ("many.sgfs.gz#0", [(BLACK, 0)]),
        ("many.sgfs.gz#1", [(BLACK, 10)]),
        ("many.sgfs.gz#2", [(BLACK, 20)]),
    ]
    assert not stats.skipped


def random_games(count: int, seed: int = 0) -> list[bytes]:
    """``count`` distinct 19x19 games of random moves (random so that gzip cannot shrink them much)."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrs"
    games = []
    for i in range(count):
        moves = "".join(f";{'BW'[j % 2]}[{rng.choice(letters)}{rng.choice(letters)}]" for j in range(60))
        games.append(f"(;GM[1]FF[4]SZ[19]GN[{i}]{moves})\n".encode())
    return games


def test_cut_short_gzip_yields_none_of_its_games(tmp_path):
    """A cut-off .sgfs.gz cannot be checked (its CRC is at the end): no game of it is read, and each
    game decoded before the cut is counted as "corrupt archive"."""
    games = random_games(100)
    whole = gzip.compress(b"".join(games))
    path = tmp_path / "cut.sgfs.gz"
    path.write_bytes(whole[: len(whole) // 2])
    records, stats = read_all([path])
    assert records == []
    assert set(stats.skipped) == {"corrupt archive"} and 10 < stats.skipped["corrupt archive"] < 100


def test_gzip_cut_at_any_byte_counts_every_game_before_the_cut(tmp_path, monkeypatch):
    """A .sgfs.gz cut at any byte counts each game zlib decodes before the cut (at least one), also
    when a read held output back under its size limit (small reads make that common)."""
    monkeypatch.setattr(sgf_module, "_READ_CHUNK", 64)
    text = b"".join(game(f";B[{c}{c}]C[{c * 200}]") + b"\n" for c in "abcdefghi")
    data = gzip.compress(text)
    path = tmp_path / "cut.sgfs.gz"
    for cut in range(10, len(data) - 8, 3):
        path.write_bytes(data[:cut])
        decoded = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:cut])
        records, stats = read_all([path])
        assert records == [] and stats.skipped == {"corrupt archive": max(1, len(split_games(decoded)))}, cut


def test_corrupt_gzip_files(tmp_path):
    """A .gz that is not gzip at all is one "unreadable gzip"; one cut inside its header one "corrupt archive"."""
    (tmp_path / "a.sgf.gz").write_bytes(game(";B[ee]"))  # plain text named .gz
    (tmp_path / "b.sgf.gz").write_bytes(gzip.compress(game(";B[ee]"))[:5])
    (tmp_path / "c.sgf.gz").write_bytes(gzip.compress(game(";B[cc]")))
    records, stats = read_all([tmp_path])
    assert [r.name for r in records] == [f"{tmp_path.name}/c.sgf.gz"]
    assert stats.skipped == {"unreadable gzip": 1, "corrupt archive": 1}


def test_tar_with_corrupt_gz_member(tmp_path):
    """One corrupt gzipped member of a tar is counted; the members after it are still read."""
    members = {"a.sgf": game(";B[aa]"), "bad.sgf.gz": b"\x1f\x8b\x08\x00garbage", "c.sgf": game(";B[cc]")}
    path = tmp_path / "t.tar.gz"
    path.write_bytes(make_archive("tar.gz", members))
    records, stats = read_all([path])
    assert [r.name for r in records] == ["t.tar.gz:a.sgf", "t.tar.gz:c.sgf"]
    assert stats.skipped == {"corrupt archive": 1}


def test_truncated_tar_gz(tmp_path):
    """A cut-off .tar.gz yields no game (it cannot be checked); the members before the cut are
    counted as "corrupt archive"."""
    games = random_games(60)
    path = tmp_path / "cut.tar.gz"
    whole = make_archive("tar.gz", {f"g{i:02}.sgf": g for i, g in enumerate(games)})
    path.write_bytes(whole[: len(whole) // 2])
    records, stats = read_all([path])
    assert records == []
    assert set(stats.skipped) == {"corrupt archive"} and 5 < stats.skipped["corrupt archive"] < 60


def test_sound_gzip_of_a_cut_tar_yields_the_members_before_the_cut(tmp_path):
    """A tar cut short and then compressed passes the gzip check: its members before the cut are
    read, and the cut is one "truncated archive"."""
    data, offsets = tar_with_offsets(3)
    path = tmp_path / "cut.tar.gz"
    path.write_bytes(gzip.compress(data[: offsets[2] + 100]))
    records, stats = read_all([path])
    assert [r.name for r in records] == ["cut.tar.gz:g0.sgf", "cut.tar.gz:g1.sgf"]
    assert stats.skipped == {"truncated archive": 1}


def tar_with_offsets(count: int) -> tuple[bytes, list[int]]:
    """A plain tar of ``count`` one-move games and the byte offset of each member's header."""
    data = make_archive("tar", {f"g{i}.sgf": game(f";B[{'abcdefghi'[i]}a]") for i in range(count)})
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        offsets = [m.offset for m in archive.getmembers() if m.isfile()]
    return data, offsets


def test_truncated_plain_tar_inside_header(tmp_path):
    """A plain tar cut inside a member header (which tarfile ends on silently) counts as truncated."""
    data, offsets = tar_with_offsets(3)
    path = tmp_path / "cut.tar"
    path.write_bytes(data[: offsets[2] + 100])
    records, stats = read_all([path])
    assert [r.name for r in records] == ["cut.tar:g0.sgf", "cut.tar:g1.sgf"]
    assert stats.skipped == {"truncated archive": 1}


def test_plain_tar_with_garbled_header(tmp_path):
    """A garbled header in the middle of a tar counts as truncated; the members before it are read."""
    data, offsets = tar_with_offsets(3)
    garbled = bytearray(data)
    garbled[offsets[1] : offsets[1] + 512] = b"x" * 512
    path = tmp_path / "garbled.tar"
    path.write_bytes(bytes(garbled))
    records, stats = read_all([path])
    assert [r.name for r in records] == ["garbled.tar:g0.sgf"]
    assert stats.skipped == {"truncated archive": 1}


def with_crc_of(altered: bytes, original: bytes) -> bytes:
    """gzip of ``altered`` carrying ``original``'s CRC and length: sound deflate data, failing its CRC."""
    assert len(altered) == len(original)
    return gzip.compress(altered)[:-8] + gzip.compress(original)[-8:]


THREE = {f"g{i}.sgf": game(f";B[{c}{c}];W[ee]") for i, c in enumerate("abc")}
ALTERED = {**THREE, "g1.sgf": game(";B[bc];W[ee]")}  # one move moved, still a legal game


@pytest.mark.parametrize(
    "suffix, blob",
    [
        (".tar.gz", with_crc_of(make_archive("tar", ALTERED), make_archive("tar", THREE))),
        (".sgfs.gz", with_crc_of(b"\n".join(ALTERED.values()), b"\n".join(THREE.values()))),
    ],
    ids=["tar.gz", "sgfs.gz"],
)
def test_stream_failing_its_crc_yields_none_of_its_games(tmp_path, caplog, suffix, blob):
    """Altered data under a stale CRC (what gzip -t calls a CRC error): no game of it is read, each is
    counted as "corrupt archive", and a warning names the file. (tarfile stopped before the CRC.)"""
    path = tmp_path / f"x{suffix}"
    path.write_bytes(blob)
    records, stats = read_all([path])
    assert records == []
    assert stats.skipped == {"corrupt archive": 3}
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    assert caplog.records[0].getMessage().startswith(f"x{suffix}: corrupt archive (")
    assert "3 games skipped" in caplog.records[0].getMessage()


@pytest.mark.parametrize("kind", ["tar.gz", "tar.bz2", "tar.xz"])
def test_compressed_tar_corrupt_in_the_middle(tmp_path, kind):
    """A byte flipped in the middle of a compressed tar: nothing read, counted as "corrupt archive"."""
    blob = bytearray(make_archive(kind, {f"g{i:02}.sgf": g for i, g in enumerate(random_games(20))}))
    blob[len(blob) // 2] ^= 0x10
    path = tmp_path / f"x.{kind}"
    path.write_bytes(bytes(blob))
    records, stats = read_all([path])
    assert records == [] and set(stats.skipped) == {"corrupt archive"}


def test_multi_member_gzip_with_padding(tmp_path, monkeypatch):
    """Every member of a multi-member gzip is read, across zero padding and across read chunks."""
    monkeypatch.setattr(sgf_module, "_READ_CHUNK", 64)  # members span many chunks
    games = random_games(6)
    blob = gzip.compress(b"".join(games[:3])) + b"\0" * 100 + gzip.compress(b"".join(games[3:])) + b"\0" * 7
    (tmp_path / "m.sgfs.gz").write_bytes(blob)
    records, stats = read_all([tmp_path / "m.sgfs.gz"])
    assert [r.moves for r in records] == [parse_game(g).moves for g in games]
    assert not stats.skipped


def test_zip_with_corrupt_member(tmp_path):
    """A zip member failing its CRC check is one "bad archive member"; the other members are read."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("a.sgf", game(";B[aa]"))
        archive.writestr("b.sgf", game(";B[bb]"))
        archive.writestr("c.sgf", game(";B[cc]"))
    data = buffer.getvalue()
    assert data.count(b"B[bb]") == 1
    path = tmp_path / "z.zip"
    path.write_bytes(data.replace(b"B[bb]", b"B[bc]"))  # stored, so the CRC no longer matches
    records, stats = read_all([path])
    assert [r.name for r in records] == ["z.zip:a.sgf", "z.zip:c.sgf"]
    assert stats.skipped == {"bad archive member": 1}


@pytest.mark.parametrize(
    "name, size, read",
    [
        ("big.sgf", 1000, True),  # exactly MAX_FILE_BYTES
        ("big.sgf", 1001, False),
        ("big.sgf.gz", 1000, True),
        ("big.sgf.gz", 1001, False),  # the gzip bomb: a small file expanding past the cap
        ("a.tar.gz:big.sgf", 1001, False),
        ("a.tar.gz:big.sgf.gz", 1001, False),
        ("a.zip:big.sgf", 1001, False),
        ("a.zip:big.sgf", 1000, True),
    ],
)
def test_file_over_max_bytes_is_one_skip(tmp_path, monkeypatch, name, size, read):
    """A file or member over MAX_FILE_BYTES (after decompression) is one "too large" skip, read no
    further; the other members of its archive are read."""
    monkeypatch.setattr(sgf_module, "MAX_FILE_BYTES", 1000)
    big = game(";B[ee]")
    big += b" " * (size - len(big))
    archive, _, member = name.rpartition(":")
    data = gzip.compress(big) if member.endswith(".gz") else big
    if archive:
        members = {member: data, "b.sgf": game(";B[bb]")}
        (tmp_path / archive).write_bytes(make_archive(archive.partition(".")[2], members))
    else:
        (tmp_path / member).write_bytes(data)
    records, stats = read_all([tmp_path / (archive or member)])
    assert [r.moves for r in records] == [[(BLACK, 40)]] * read + [[(BLACK, 10)]] * bool(archive)
    assert stats.skipped == ({} if read else {"too large": 1})


def test_unreadable_sub_folder_is_counted(tmp_path, locked_folders):
    """A sub-folder that cannot be listed is one "unreadable folder" skip (os.walk passed over it
    silently), for read_records and for source_files; the rest of the corpus is read."""
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "a.sgf").write_bytes(game(";B[aa]"))
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "b.sgf").write_bytes(game(";B[bb]"))
    records, stats = read_all([tmp_path])
    assert [r.moves for r in records] == [[(BLACK, 0)]]
    assert stats.skipped == {"unreadable folder": 1}
    listed = ReadStats()
    assert source_files(tmp_path, listed) == [tmp_path / "ok" / "a.sgf"]
    assert listed.skipped == {"unreadable folder": 1}


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_in_a_folder_is_counted_not_read(tmp_path):
    """A FIFO named like a record inside a folder is one "unreadable file"; reading it would wait forever."""
    os.mkfifo(tmp_path / "pipe.sgf")
    (tmp_path / "a.sgf").write_bytes(game(";B[aa]"))
    records, stats = read_all([tmp_path])
    assert [r.moves for r in records] == [[(BLACK, 0)]]
    assert stats.skipped == {"unreadable file": 1}


@pytest.mark.parametrize(
    "patches, reason",
    [
        ({6: b"\xff\x00"}, "bad archive"),  # version needed to extract 25.5 (zipfile: NotImplementedError)
        ({10: b"\x63\x00"}, "bad archive member"),  # compression method 99 (zipfile: NotImplementedError)
        ({8: b"\x00\x08", 46: b"\xff"}, "bad archive"),  # a name flagged UTF-8 that is not (UnicodeDecodeError)
        ({28: b"\x00\x00", 46: b""}, None),  # no name: passed over like a README (zipfile's is_dir: IndexError)
    ],
)
def test_zip_with_a_garbled_central_directory(tmp_path, patches, reason):
    """A zip whose central directory entry is garbled is one counted skip, or passed over if it lost
    its name; never an exception (the fuzzer found these ending runs)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("x.sgf", game(";B[aa]"))
    data = bytearray(buffer.getvalue())
    entry = data.index(b"PK\x01\x02")  # offsets below are from the start of this entry
    for offset, value in patches.items():
        if value:
            data[entry + offset : entry + offset + len(value)] = value
        else:  # the name's bytes removed, and the central directory's size with them
            del data[entry + offset : entry + offset + len("x.sgf")]
            end = data.index(b"PK\x05\x06")
            data[end + 12 : end + 16] = (int.from_bytes(data[end + 12 : end + 16], "little") - 5).to_bytes(4, "little")
    (tmp_path / "z.zip").write_bytes(bytes(data))
    records, stats = read_all([tmp_path / "z.zip"])
    assert records == [] and stats.skipped == ({reason: 1} if reason else {})


def test_zip_whose_name_length_swallows_the_entries_after_it(tmp_path):
    """A central directory entry whose name length grew reads, without an error, as fewer entries
    with the later ones' bytes in its name: the missing entries are one "bad archive", not silence
    (CI's fuzz run found a zip read as 0 games and 0 skips)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("folder/", b"")
        archive.writestr("a.sgf", game(";B[aa]"))
    data = bytearray(buffer.getvalue())
    entry = data.index(b"PK\x01\x02")
    data[entry + 29] ^= 1  # the folder's name length: 7 + 256, over the next entry
    (tmp_path / "z.zip").write_bytes(bytes(data))
    records, stats = read_all([tmp_path / "z.zip"])
    assert records == [] and stats.skipped == {"bad archive": 1}


@pytest.mark.parametrize("suffix", [".zip", ".tar.gz", ".tar"])
def test_archive_that_is_not_one(tmp_path, suffix):
    """A file named as an archive that is none is one skip ("bad archive" or "truncated archive")."""
    path = tmp_path / f"fake{suffix}"
    path.write_bytes(b"hello, I am not an archive" * 10)
    records, stats = read_all([path])
    assert records == []
    assert sum(stats.skipped.values()) == 1
    assert set(stats.skipped) <= {"bad archive", "truncated archive"}


def test_order_is_deterministic(tmp_path):
    """Reading the same sources twice gives the same names in the same order."""
    path = tmp_path / "games.zip"
    path.write_bytes(make_archive("zip", ARCHIVE_MEMBERS))
    sources = [path, FIXTURES]
    first = [name for source in sources for name, _ in iter_sgf_blobs(source)]
    second = [name for source in sources for name, _ in iter_sgf_blobs(source)]
    assert first == second
    assert [n for n in first if n.startswith("sgf/")] == [
        "sgf/collection.sgf#0",
        "sgf/collection.sgf#1",
        "sgf/collection.sgf#2",
        "sgf/handicap.sgf",
        "sgf/passes.sgf",
        "sgf/setup.sgf",
        "sgf/small_9x9.sgf",
    ]


# ---------------------------------------------------------------- ReadStats


def test_summary_line_format():
    """summary() is one line: counts, then skip reasons by count (ties by name)."""
    stats = ReadStats(games=1975, positions=412345)
    assert stats.summary() == "read 1975 games, 412345 positions; skipped 0"
    stats.skip("board size 13", "a.sgf")
    stats.skip("parse error", "b.sgf", "unexpected end of SGF data")
    stats.skip("parse error", "c.sgf")
    assert stats.summary() == "read 1975 games, 412345 positions; skipped 3 (parse error: 2, board size 13: 1)"
    assert "\n" not in stats.summary()


def test_merge_and_to_dict():
    """merge() adds another reader's counts; to_dict() is JSON-able."""
    a = ReadStats(games=2, positions=100)
    a.skip("parse error", "x")
    b = ReadStats(games=3, positions=50)
    b.skip("parse error", "y")
    b.skip("bad move", "z")
    a.merge(b)
    assert a.to_dict() == {"games": 5, "positions": 150, "skipped": {"bad move": 1, "parse error": 2}}
    assert json.loads(json.dumps(a.to_dict())) == a.to_dict()
    assert b.games == 3  # the other is left alone


def test_stats_counts_match_records():
    """stats.games and stats.positions count exactly the records yielded."""
    stats = ReadStats()
    records = list(read_records([FIXTURES], stats))
    assert stats.games == len(records) == 6
    assert stats.positions == sum(len(r.moves) for r in records) == 7 + 6 + 0 + 4 + 3 + 4
    assert stats.skipped == {"parse error": 1}


# ---------------------------------------------------------------- fuzzing

VALID = (FIXTURES / "handicap.sgf").read_bytes()


@st.composite
def mutated_sgf(draw) -> bytes:
    """A valid SGF with a few byte flips, deletions, insertions and maybe a truncation."""
    data = bytearray(VALID)
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if op == "flip" and data:
            data[pos] = draw(st.sampled_from(list(b"()[];\\:BWAETSZ\x00\xff") + [draw(st.integers(0, 255))]))
        elif op == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        elif op == "insert":
            tokens = st.sampled_from([b"(;", b")", b"]", b"[", b"AB[aa]"])
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8) | tokens)
        else:
            del data[pos:]
    return bytes(data)


def check_read(path: Path, data: bytes) -> None:
    """read_records on ``path`` does not raise and its stats agree with what it yielded."""
    stats = ReadStats()
    records = list(read_records([path], stats))
    assert stats.games == len(records)
    assert stats.positions == sum(len(r.moves) for r in records)
    for record in records:
        assert 2 <= record.size <= 25
        assert all(colour in (BLACK, WHITE) and 0 <= idx <= record.size**2 for colour, idx in record.moves)
        assert all(colour in (BLACK, WHITE) and 0 <= idx < record.size**2 for colour, idx in record.setup)
    if path.suffix == ".sgf":
        # every game found is either yielded or skipped; a file with none is one skip
        assert stats.games + sum(stats.skipped.values()) == max(1, len(split_games(data)))
    else:
        assert stats.games + sum(stats.skipped.values()) >= 1


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=600) | mutated_sgf())
def test_fuzz_sgf_files_never_raise(data):
    """Random bytes and mutated SGF: parse_game raises only SgfError; read_records never raises."""
    try:
        parse_game(data)
    except SgfError:
        pass
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.sgf"
        path.write_bytes(data + b"\n" + VALID)  # a broken game followed by a good one
        check_read(path, path.read_bytes())


@FUZZ
@given(mutated_sgf(), st.integers(0, 3), st.data())
def test_fuzz_gz_and_archives_never_raise(data, wrapper, draw):
    """Mutated SGF inside (then itself mutated) .gz / .tar.gz / .zip / .tar: read_records never raises."""
    suffix, blob = [
        (".sgf.gz", gzip.compress(data)),
        (".tar.gz", make_archive("tar.gz", {"a.sgf": data, "b.sgf": VALID})),
        (".zip", make_archive("zip", {"a.sgf": data, "b.sgf": VALID})),
        (".tar.bz2", make_archive("tar.bz2", {"a.sgf": data})),
    ][wrapper]
    cut = draw.draw(st.integers(0, len(blob)))
    flip = draw.draw(st.integers(0, len(blob) - 1))
    if draw.draw(st.booleans()):
        blob = blob[:cut]
    elif draw.draw(st.booleans()):
        blob = blob[:flip] + bytes([blob[flip] ^ 0xFF]) + blob[flip + 1 :]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(blob)
        check_read(path, blob)


def fixture_games() -> list[bytes]:
    """Every game of the fixtures that reads cleanly on its own."""
    games = [g for path in sorted(FIXTURES.glob("*.sgf")) for g in split_games(path.read_bytes())]
    good = []
    for g in games:
        try:
            parse_game(g)
        except SgfError:
            continue
        good.append(g)
    return good


GAMES = fixture_games()
# damage keeps a game one game only if no '(;' but its root is in it, none can be made, and its
# root still starts a game ("(;GM[" kept): so no variations, and no '(', ')', ';' or capital
# letters written into it
DAMAGEABLE = [g for g in GAMES if g.count(b"(;") == 1 and g.startswith(b"(;GM[")]
ROOT = len(b"(;GM[")
NO_NEW_GAME = [b for b in range(256) if b not in b"();" and not 65 <= b <= 90]


@st.composite
def damaged(draw, data: bytes) -> bytes:
    """``data`` cut short, or with bytes flipped, inserted or deleted, past its root's "(;GM[" ."""
    out = bytearray(data)
    if draw(st.booleans()):
        del out[draw(st.integers(ROOT, len(out) - 1)) :]
    for _ in range(draw(st.integers(0 if len(out) < len(data) else 1, 4))):
        pos = draw(st.integers(ROOT, len(out)))
        op = draw(st.sampled_from(["flip", "insert", "delete"]))
        if op == "insert":
            out.insert(pos, draw(st.sampled_from(NO_NEW_GAME)))
        elif pos < len(out) and out[pos] not in b"()":
            if op == "flip":
                out[pos] = draw(st.sampled_from(NO_NEW_GAME))
            else:
                del out[pos]
    return bytes(out)


@st.composite
def collection(draw) -> tuple[bytes, list[bytes | None]]:
    """A collection of 2-5 fixture games, some damaged -> (its bytes, each game if intact else None)."""
    parts, intact = [], []
    for _ in range(draw(st.integers(2, 5))):
        if draw(st.booleans()):
            parts.append(draw(damaged(draw(st.sampled_from(DAMAGEABLE)))))
            intact.append(None)
        else:
            parts.append(draw(st.sampled_from(GAMES)))
            intact.append(parts[-1])
    separators = [draw(st.sampled_from([b"\n", b"", b" \r\n"])) for _ in parts]
    return b"".join(sep + part for sep, part in zip(separators, parts)), intact


def record_key(record: GameRecord) -> tuple:
    """A record less its name, for comparing what was read with what was written."""
    return (record.size, record.komi, record.handicap, record.result, tuple(record.setup), tuple(record.moves))


@FUZZ
@given(collection(), st.booleans())
def test_fuzz_collection_loses_no_intact_game(made, gzipped):
    """Damaged games beside intact ones in a collection (maybe gzipped): nothing raises, every game
    in is read or skipped (games in = read + skipped), and every intact game is read as written."""
    data, intact = made
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("c.sgfs.gz" if gzipped else "c.sgfs")
        path.write_bytes(gzip.compress(data) if gzipped else data)
        records, stats = read_all([path])
    assert stats.games == len(records)
    assert stats.games + sum(stats.skipped.values()) == len(intact)
    read = {r.name.rpartition("#")[2]: record_key(r) for r in records}
    for i, game_ in enumerate(intact):
        if game_ is not None:
            assert read.get(str(i)) == record_key(parse_game(game_)), (i, stats.summary())


CONTAINED = random_games(4, seed=1)
CONTAINERS = [
    (".sgfs.gz", gzip.compress(b"".join(CONTAINED))),
    *((f".{kind}", make_archive(kind, {f"g{i}.sgf": g for i, g in enumerate(CONTAINED)}))
      for kind in ("tar.gz", "tar.bz2", "tar.xz", "zip")),
]


@FUZZ
@given(st.sampled_from(CONTAINERS), st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255)),
                                             min_size=1, max_size=3))
def test_fuzz_damaged_container_never_yields_an_altered_game(container, flips):
    """Bytes flipped anywhere in a CRC-checked container (.sgfs.gz, .tar.gz, .tar.bz2, .tar.xz, .zip):
    nothing raises, and every game read is one of the games put in, unaltered."""
    suffix, blob = container
    blob = bytearray(blob)
    for where, bits in flips:
        blob[int(where * len(blob))] ^= bits
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"x{suffix}"
        path.write_bytes(bytes(blob))
        records, stats = read_all([path])
    originals = {record_key(parse_game(g)) for g in CONTAINED}
    assert all(record_key(r) in originals for r in records)
    assert stats.games == len(records) and stats.games + sum(stats.skipped.values()) >= 1


# ---------------------------------------------------------------- real data


def sgfmill_moves(data: bytes) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """Oracle: moves and setup via sgfmill's high-level API (row 0 at the bottom) -> (colour, idx)."""
    game_ = sgfmill_sgf.Sgf_game.from_bytes(data)
    size = game_.get_size()

    def idx(point):
        return size * size if point is None else (size - 1 - point[0]) * size + point[1]

    moves = []
    for node in game_.get_main_sequence():
        colour, point = node.get_move()
        if colour is not None:
            moves.append((BLACK if colour == "b" else WHITE, idx(point)))
    black, white, _ = game_.get_root().get_setup_stones()
    setup = sorted([(BLACK, idx(p)) for p in black] + [(WHITE, idx(p)) for p in white])
    return moves, setup


def test_real_kgs_archive(shared_data):
    """One real KGS archive: > 500 plausible 19x19 games, and moves agree with sgfmill's own API."""
    archives = sorted((shared_data / "kgs" / "val").glob("*.tar.gz"))
    if not archives:
        pytest.skip("no KGS archives in ../shared/data/kgs/val")
    archive = archives[0]
    stats = ReadStats()
    records = list(read_records([archive], stats))
    assert stats.games == len(records) > 500
    assert sum(stats.skipped.values()) <= 0.01 * len(records)
    assert all(r.size == 19 and r.name.startswith(f"{archive.name}:") for r in records)
    assert all(0 <= idx <= 361 and colour in (BLACK, WHITE) for r in records for colour, idx in r.moves)
    assert 100 < statistics.median(len(r.moves) for r in records) < 400
    handicap = [r for r in records if r.handicap >= 2]
    assert handicap and all(len(r.setup) == r.handicap for r in handicap)
    blobs = dict(itertools.islice(iter_sgf_blobs(archive), 150))
    for record in records[:150]:
        moves, setup = sgfmill_moves(blobs[record.name])
        assert record.moves == moves, record.name
        assert sorted(record.setup) == setup, record.name


def test_real_tygem_collection(shared_data):
    """The start of a real tygem collection: games named file#i, passes as B[] read as 361."""
    files = sorted((shared_data / "tygem").glob("*.sgfs.gz"))
    if not files:
        pytest.skip("no tygem collections in ../shared/data/tygem")
    stats = ReadStats()
    records = list(itertools.islice(read_records([files[0]], stats), 200))
    assert len(records) == 200
    assert [r.name for r in records[:2]] == [f"{files[0].name}#0", f"{files[0].name}#1"]
    assert all(r.size == 19 and r.moves and r.player_to_move_first == BLACK for r in records)
    assert not stats.skipped
