"""Game records from SGF: single files, collections, .gz files, folders and archives.

sgfmill parses each game; this module finds the games and turns them into plain
:class:`GameRecord` s (idx coordinates, see :mod:`gonet.coords`). It does not replay them:
illegal moves, suicides and captures are :mod:`gonet.game`'s business.

Corpus preparation reads ~190k games, some of them broken, so the bulk reader
:func:`read_records` never stops on bad data: it yields the good records, counts each bad
one in :class:`ReadStats` under a short reason (:data:`SKIP_REASONS`) and leaves one
summary line. A source path that does not exist is a user error and raises
``FileNotFoundError`` at once.

What a record keeps, and what is not checked:

- The main line only (the first variation at each node).
- Moves as written, colour included: one side may move twice in a row; nothing assumes
  alternation.
- ``B[]`` is a pass, and so is ``B[tt]`` on boards up to 19x19 (on larger boards ``tt`` is a
  point).
- Setup stones (AB/AW/AE) only in the root node. Setup anywhere else on the main line
  (problem diagrams, edited positions) skips the game as "setup after root", since a
  plain move list cannot express it.
- A move in the root node counts as the first move.
- A CA that names no text encoding Python knows (``CA[klingon]``, or a bytes codec such
  as ``CA[zlib]``) is read as ISO-8859-1, as if absent; the move list does not depend on it.

What the bulk reader trusts (each case counted under its reason):

- A compressed stream (``.gz``, ``.tar.gz``, ``.tar.bz2``, ``.tar.xz``) only once its integrity
  check (CRC, length) has passed at its end. One that fails it, or is cut short before it,
  gives none of its games: any of them may be altered (a damaged deflate stream can decode
  to plausible games and then look merely cut short; the fuzzer found such legal games).
  They are counted one by one as "corrupt archive" and the file is named in a warning. A
  tar is read to its last byte before its first game is yielded: tarfile itself stops at the
  end-of-archive block, before the CRC. A zip member is used only if its CRC passes.
- Plain SGF files and plain tars have no check: what reads is used; a tar cut short gives
  the members before the cut ("truncated archive").
- A file or member that is, or expands to, more than :data:`MAX_FILE_BYTES`: nothing (a
  gzip bomb of whitespace would otherwise fill memory).
- In a collection, a game broken part-way (cut short, an unclosed ``[``) ends where the next
  game's root begins, even inside what would be a property value, so that it cannot take the
  next game with it. A root is ``(;`` and a root-only property (GM, FF, CA, SZ, AP, ST); a
  comment quoting such SGF text would be split there too (none in 54,554 KGS/Tygem games).
"""

from __future__ import annotations

import bz2
import collections
import errno
import gzip
import logging
import lzma
import os
import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from sgfmill import sgf, sgf_grammar

from gonet.coords import BLACK, MAX_SIZE, MIN_SIZE, WHITE, check_size, pass_idx

logger = logging.getLogger(__name__)

DEFAULT_SIZE = 19

#: The reasons :func:`read_records` counts skips under; "board size N" also appears, with
#: the size filled in, for sizes outside 2..25 or not equal to the ``size`` filter.
SKIP_REASONS = (
    "empty file",  # a file or archive member with no bytes but whitespace
    "not text",  # binary data (NUL bytes) with no SGF game in it, e.g. UTF-16
    "no game found",  # text with no "(;" in it
    "parse error",  # sgfmill could not parse the game
    "bad board size",  # SZ that is not one number, e.g. SZ[19:13]
    "bad KM",
    "bad HA",
    "bad PL",
    "bad RE",  # several RE values
    "bad encoding",  # RE does not decode in the game's charset
    "bad setup",  # malformed or off-board AB/AW/AE point
    "setup after root",  # AB/AW/AE in a non-root node of the main line
    "B and W in one node",
    "bad move",  # malformed or off-board B/W value, or several values
    "unreadable gzip",  # a .gz file or member that is not gzip data at all
    "corrupt archive",  # compressed data failing its integrity check, or cut short: one per game in it
    "too large",  # a file or member over MAX_FILE_BYTES, after decompression
    "unreadable file",  # OSError reading a file, or a FIFO or device inside a folder
    "unreadable folder",  # OSError listing a folder (or sub-folder) of a source
    "bad archive",  # an archive that cannot be opened at all
    "truncated archive",  # a (sound) tar cut short or with a garbled header; the members before it are read
    "bad archive member",  # a zip member that cannot be read; the others are read
)

#: The most bytes one file or archive member may hold once decompressed: over 10 times the
#: largest real collection seen (a month of Tygem games, 17 MB), under a tenth of a small
#: machine's memory.
MAX_FILE_BYTES = 256 << 20
#: The largest komi read as written: more than any board's area (25 x 25), so no real game
#: is refused, and small enough for the shards' float32 komi column and the score arithmetic.
MAX_KOMI = 1000.0
_READ_CHUNK = 1 << 20
_SGF_SUFFIXES = (".sgf", ".sgfs")
_TAR_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz", ".tar.xz", ".txz")
_ARCHIVE_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, zlib.error, lzma.LZMAError)
# zipfile also raises RuntimeError (encrypted; NotImplementedError: a garbled version or compression
# method) and ValueError (a name flagged UTF-8 that is not)
_ZIP_ERRORS = (*_ARCHIVE_ERRORS, RuntimeError, ValueError)
_ZIP_TAIL_BYTES = 22 + 0xFFFF  # the end-of-central-directory record and its longest comment
# what a decompressing stream raises: EOFError when cut short; gzip.BadGzipFile (CRC, length)
# and bz2's "Invalid data stream" are OSErrors
_DECOMPRESSION_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_TRAILER = 8  # CRC32 and length
_ZEROS = re.compile(rb"\0*")
_COMPRESSED = ((_GZIP_MAGIC, gzip.GzipFile), (b"BZh", bz2.BZ2File), (b"\xfd7zXZ\x00", lzma.LZMAFile))


class SgfError(ValueError):
    """A game record that cannot be read; ``reason`` is the short key it is counted under."""

    def __init__(self, name: str, reason: str, detail: str = "") -> None:
        # all three in args, so the error pickles across worker processes
        super().__init__(name, reason, detail)
        self.name = name
        self.reason = reason
        self.detail = detail

    def __str__(self) -> str:
        text = f"{self.name or '<sgf>'}: {self.reason}"
        return f"{text} ({self.detail})" if self.detail else text


@dataclass
class GameRecord:
    """One game's main line as plain data, ready for :mod:`gonet.game` to replay."""

    size: int
    komi: float  # KM, 0.0 if absent
    handicap: int  # HA as written, 0 if absent
    result: str | None  # RE as written ("B+R", "W+3.5", "0", ...), None if absent
    setup: list[tuple[int, int]]  # (colour, idx) from the root's AB/AW, less its AE
    moves: list[tuple[int, int]]  # (colour, idx) of the main line; idx == size*size: pass
    name: str  # where it came from: "file.tar.gz:member.sgf", "file.sgfs.gz#17", ...
    player_to_move_first: int  # BLACK or WHITE


@dataclass
class ReadStats:
    """What a bulk read yielded and what it skipped, by reason; mergeable across workers."""

    games: int = 0  # good records yielded
    skipped: collections.Counter = field(default_factory=collections.Counter)  # reason -> count
    positions: int = 0  # sum of len(record.moves) over the yielded records

    def skip(self, reason: str, name: str, detail: str = "", count: int = 1) -> None:
        """Count ``count`` skipped games (or one file) under ``reason``; log it at debug level."""
        self.skipped[reason] += count
        logger.debug("skipped %s: %s%s", name, reason, f" ({detail})" if detail else "")

    def summary(self) -> str:
        """One line, e.g. ``read 1975 games, 412345 positions; skipped 3 (parse error: 2, ...)``."""
        line = f"read {self.games} games, {self.positions} positions; skipped {sum(self.skipped.values())}"
        if self.skipped:
            reasons = sorted(self.skipped.items(), key=lambda item: (-item[1], item[0]))
            line += " (" + ", ".join(f"{reason}: {count}" for reason, count in reasons) + ")"
        return line

    def merge(self, other: ReadStats) -> None:
        """Add another reader's counts to these (e.g. from a worker process)."""
        self.games += other.games
        self.positions += other.positions
        self.skipped.update(other.skipped)

    def to_dict(self) -> dict:
        """JSON-able counts, skip reasons sorted."""
        return {"games": self.games, "positions": self.positions, "skipped": dict(sorted(self.skipped.items()))}


# ---------------------------------------------------------------- one game


@lru_cache(maxsize=None)
def _point_table(size: int) -> dict[bytes, int]:
    """Raw SGF point (``b"dp"``) -> idx, for every point of the board."""
    letters = b"abcdefghijklmnopqrstuvwxyz"
    return {bytes((letters[col], letters[row])): row * size + col for row in range(size) for col in range(size)}


@lru_cache(maxsize=None)
def _move_table(size: int) -> dict[bytes, int]:
    """Raw SGF move -> idx: the points plus the passes (``b""``, and ``b"tt"`` up to 19x19)."""
    table = dict(_point_table(size))
    table[b""] = pass_idx(size)
    if size <= 19:
        table[b"tt"] = pass_idx(size)
    return table


def _no_game_reason(data: bytes) -> str:
    """Why ``data`` holds no SGF game at all."""
    if not data.strip():
        return "empty file"
    if b"\x00" in data:
        return "not text"
    return "no game found"


def parse_game(data: bytes, name: str = "", size: int | None = None) -> GameRecord:
    """Read one game from ``data`` (anything after the first game is ignored).

    Raises :class:`SgfError` naming ``name`` and the reason when the game is unusable;
    with ``size``, other board sizes are rejected as "board size N" before the moves are read.
    """
    return _parse_game(data, name, size)


def _parse_game(data: bytes, name: str, want_size: int | None) -> GameRecord:
    """:func:`parse_game` that also rejects boards other than ``want_size`` (before the moves)."""
    try:
        coarse = sgf_grammar.parse_sgf_game(data)
    except ValueError as e:
        if str(e) == "no SGF data found":
            raise SgfError(name, _no_game_reason(data)) from None
        raise SgfError(name, "parse error", str(e)) from None
    root_map = coarse.sequence[0]

    size = DEFAULT_SIZE
    if "SZ" in root_map:
        raw_size = root_map["SZ"][0]
        try:
            size = int(raw_size)
        except ValueError:
            raise SgfError(name, "bad board size", f"SZ[{raw_size.decode('latin-1')}]") from None
    if not MIN_SIZE <= size <= MAX_SIZE or (want_size is not None and size != want_size):
        raise SgfError(name, f"board size {size}")

    game = _sgf_game(coarse)
    root = game.get_root()
    komi = _root_value(root, "KM", 0.0, name)
    if not abs(komi) <= MAX_KOMI:  # also false for nan
        raise SgfError(name, "bad KM", f"KM[{komi:g}]: not within +-{MAX_KOMI:g}")
    handicap = _root_value(root, "HA", 0, name)
    if handicap < 0:
        raise SgfError(name, "bad HA", f"HA[{handicap}]")
    try:
        result = root.get("RE") if "RE" in root_map else None
    except UnicodeError:  # UnicodeDecodeError, or a codec's own complaint (punycode, idna)
        raise SgfError(name, "bad encoding", f"RE is not {game.presenter.encoding}") from None
    except ValueError as e:
        raise SgfError(name, "bad RE", str(e)) from None
    pl = _root_value(root, "PL", None, name)

    setup = _setup(root_map, size, name)
    moves = _moves(coarse, size, name)

    if moves:
        first = moves[0][0]
    elif pl is not None:
        first = BLACK if pl == "b" else WHITE
    elif handicap >= 2 and setup and all(colour == BLACK for colour, _ in setup):
        first = WHITE
    else:
        first = BLACK
    return GameRecord(size, komi, handicap, result, setup, moves, name, first)


def _sgf_game(coarse: sgf_grammar.Coarse_game_tree) -> sgf.Sgf_game:
    """sgfmill's game over ``coarse``, in ISO-8859-1 when CA names no text encoding.

    sgfmill accepts any codec name, and a bytes codec (zlib, hex, base64) then fails on the
    first value read, with a LookupError that nothing downstream expects.
    """
    try:
        game = sgf.Sgf_game.from_coarse_game_tree(coarse)
        if _is_text_encoding(game.presenter.encoding):
            return game
    except ValueError:  # a CA naming no codec at all
        pass
    return sgf.Sgf_game.from_coarse_game_tree(coarse, override_encoding="ISO-8859-1")


def _is_text_encoding(encoding: str) -> bool:
    """Whether ``encoding`` decodes bytes to text (not bytes to bytes, as zlib does)."""
    try:
        b" ".decode(encoding)  # not b"": empty input is returned without a codec lookup
    except LookupError:
        return False
    except ValueError:  # a text encoding that cannot decode one space alone (UTF-16)
        pass
    return True


def _root_value(root: sgf.Tree_node, ident: str, default, name: str):
    """The root's ``ident`` as sgfmill interprets it, ``default`` if absent."""
    try:
        return root.get(ident)
    except KeyError:
        return default
    except ValueError:
        raw = b"][".join(root.get_raw_list(ident)).decode("latin-1")
        raise SgfError(name, f"bad {ident}", f"{ident}[{raw}]") from None


def _setup(root_map: dict[str, list[bytes]], size: int, name: str) -> list[tuple[int, int]]:
    """The root's AB/AW stones in the order written, less the AE points listed after them."""
    if "AB" not in root_map and "AW" not in root_map:
        return []
    table = _point_table(size)
    stones: dict[int, int] = {}  # idx -> colour, in the order written
    for ident, values in root_map.items():
        if ident not in ("AB", "AW", "AE"):
            continue
        colour = BLACK if ident == "AB" else WHITE if ident == "AW" else None
        if values == [b""]:  # an empty list, which the spec allows for AE
            continue
        for value in values:
            for idx in _point_list(value, table, size, ident, name):
                stones.pop(idx, None)
                if colour is not None:
                    stones[idx] = colour
    return [(colour, idx) for idx, colour in stones.items()]


def _point_list(value: bytes, table: dict[bytes, int], size: int, ident: str, name: str) -> list[int]:
    """One AB/AW/AE value as idx: a point, or a compressed rectangle ``aa:cc`` row by row."""
    first, colon, last = value.partition(b":")
    try:
        top_left = table[first]
        if not colon:
            return [top_left]
        bottom_right = table[last]
    except KeyError:
        raise SgfError(name, "bad setup", f"{ident}[{value.decode('latin-1')}] on {size}x{size}") from None
    row0, col0 = divmod(top_left, size)
    row1, col1 = divmod(bottom_right, size)
    if row0 > row1 or col0 > col1:
        raise SgfError(name, "bad setup", f"{ident}[{value.decode('latin-1')}]: not a rectangle")
    return [row * size + col for row in range(row0, row1 + 1) for col in range(col0, col1 + 1)]


def _moves(coarse: sgf_grammar.Coarse_game_tree, size: int, name: str) -> list[tuple[int, int]]:
    """The main line's moves as (colour, idx)."""
    table = _move_table(size)
    moves: list[tuple[int, int]] = []
    is_root = True
    for props in sgf_grammar.main_sequence_iter(coarse):
        if not is_root and ("AB" in props or "AW" in props or "AE" in props):
            raise SgfError(name, "setup after root", f"before move {len(moves) + 1}")
        is_root = False
        black = props.get("B")
        white = props.get("W")
        if black is None and white is None:
            continue
        if black is not None and white is not None:
            raise SgfError(name, "B and W in one node", f"move {len(moves) + 1}")
        values, colour = (black, BLACK) if black is not None else (white, WHITE)
        idx = table.get(values[0]) if len(values) == 1 else None
        if idx is None:
            letter = "B" if colour == BLACK else "W"
            raw = b"][".join(values).decode("latin-1")
            raise SgfError(name, "bad move", f"{letter}[{raw}] (move {len(moves) + 1}) on {size}x{size}")
        moves.append((colour, idx))
    return moves


# ---------------------------------------------------------------- finding the games

_GAME_START = re.compile(rb"\(\s*;")
# a '(' that opens a new game's root rather than a variation: these are root-only properties
_NEW_ROOT = re.compile(rb"\(\s*;\s*(?:GM|FF|CA|SZ|AP|ST)\s*\[")
# everything up to the next '(' or ')' outside a property value, or a stray ']' / unclosed '['
_TO_PAREN = re.compile(rb"(?:[^()\[\]]+|\[[^\\\]]*(?:\\.[^\\\]]*)*\])*", re.DOTALL)


def split_games(data: bytes) -> list[bytes]:
    """The bytes of each game in an SGF collection, in order, without parsing them.

    Bracket matching only, so that one broken game costs that game and not the rest. A
    game with unbalanced parentheses ends where the next game's root (``(;GM[``, ``(;FF[``,
    ...) begins; so does one with a stray ``]``, or a ``[`` whose value would run into the
    next game's root (a game cut short inside a comment).
    """
    games = []
    pos = 0
    next_root = 0  # where the next root after the game being read begins (len(data): none)
    while (m := _GAME_START.search(data, pos)) is not None:
        if next_root <= m.start():  # searched once per root, so the whole split stays linear
            root = _NEW_ROOT.search(data, m.start() + 1)
            next_root = root.start() if root else len(data)
        end = _game_end(data, m.start(), next_root)
        games.append(data[m.start() : end])
        pos = end
    return games


def _game_end(data: bytes, start: int, next_root: int) -> int:
    """Index just past the game whose '(' is at ``start``; at most ``next_root``, where the
    next game's root begins (even inside what would be a property value)."""
    depth = 0
    i = start
    while True:
        i = _TO_PAREN.match(data, i, next_root).end()
        if i >= next_root:
            return next_root
        c = data[i]
        if c == 0x28:  # (
            depth += 1
        elif c == 0x29:  # )
            depth -= 1
            if depth == 0:
                return i + 1
        else:  # a stray ']', or a '[' not closed before the next root: the game is broken
            return next_root
        i += 1


def _kind(name: str) -> str | None:
    """"tar", "zip", "gz" or "sgf" by the file name; None for files this module ignores."""
    lower = name.lower()
    if lower.endswith(_TAR_SUFFIXES):
        return "tar"
    if lower.endswith(".zip"):
        return "zip"
    if lower.endswith(".gz"):
        return "gz"
    if lower.endswith(_SGF_SUFFIXES):
        return "sgf"
    return None


def _stream_error(stream: BinaryIO) -> Exception | None:
    """Read a decompressing ``stream`` to its end, keeping nothing; the error that stopped it, if any."""
    try:
        while stream.read(_READ_CHUNK):
            pass
    except _DECOMPRESSION_ERRORS as e:
        return e
    return None


def _inflate(data: bytes) -> Iterator[bytes]:
    """The decompressed pieces of gzip ``data``, member after member, each at most _READ_CHUNK.

    Raises EOFError where the data is cut short and zlib.error where it is corrupt (bad
    compressed data, CRC or length).
    """
    pos = 0
    while (pos := _ZEROS.match(data, pos).end()) < len(data):  # zero padding between members
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)  # gzip header and CRC
        while not inflater.eof:
            feed = inflater.unconsumed_tail
            if not feed:
                if pos >= len(data):
                    yield inflater.flush()  # what the last call held back under its max_length
                    raise EOFError("compressed data ends before the end-of-stream marker")
                end = pos + _READ_CHUNK
                if end > len(data) - _GZIP_TRAILER > pos:  # the last CRC and length on their own,
                    end = len(data) - _GZIP_TRAILER  # so that a CRC failure comes after the pieces
                feed = data[pos:end]
                pos = end
            yield inflater.decompress(feed, _READ_CHUNK)
        pos -= len(inflater.unused_data)  # where the next member starts


def _skip_too_large(name: str, stats: ReadStats) -> None:
    stats.skip("too large", name, f"over {MAX_FILE_BYTES} bytes once decompressed")


def _skip_corrupt(name: str, games: int, error: Exception, stats: ReadStats) -> None:
    """Count the ``games`` found in a compressed stream that failed its check, and name it in a warning."""
    games = max(games, 1)
    detail = f"{type(error).__name__}: {error}"
    stats.skip("corrupt archive", name, detail, count=games)
    logger.warning("%s: corrupt archive (%s); its %d game%s skipped", name, detail, games, "s" if games > 1 else "")


def _gunzip(data: bytes, name: str, stats: ReadStats) -> tuple[bytes, bool]:
    """Decompress gzip ``data`` (all its members) -> (the bytes to trust, whether that is all of it).

    Failing its CRC, with bad compressed data or cut short: nothing, each game decoded
    counted as "corrupt archive". Over :data:`MAX_FILE_BYTES`: nothing, one "too large". Not
    gzip at all: nothing, one "unreadable gzip".
    """
    if not data.startswith(_GZIP_MAGIC):
        stats.skip("unreadable gzip", name, "not gzip data")
        return b"", False
    pieces = []
    size = 0
    try:
        for piece in _inflate(data):
            size += len(piece)
            if size > MAX_FILE_BYTES:
                _skip_too_large(name, stats)
                return b"", False
            pieces.append(piece)
    except (EOFError, zlib.error) as e:  # cut short, or failing its check
        _skip_corrupt(name, len(split_games(b"".join(pieces))), e, stats)
        return b"", False
    return b"".join(pieces), True


def _iter_data(data: bytes, name: str, stats: ReadStats, gzipped: bool = False) -> Iterator[tuple[str, bytes]]:
    """The games in one file's bytes; "#i" is added to the name when it holds several."""
    sound = True
    if gzipped:
        data, sound = _gunzip(data, name, stats)
    games = split_games(data)
    if not games:
        if sound:  # else the gzip error was counted already
            stats.skip(_no_game_reason(data), name)
    elif len(games) == 1:
        yield name, games[0]
    else:
        for i, game in enumerate(games):
            yield f"{name}#{i}", game


class _LastBlock:
    """A read-only stream that remembers the last block read, so a tar that breaks off is noticed.

    tarfile ends its member list silently at a cut-off or garbled header; the block it read
    last tells that apart from the end-of-archive marker (a zero block).
    """

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.last = b"\0" * tarfile.BLOCKSIZE

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.last = data
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()


def _open_decompressed(path: Path) -> tuple[BinaryIO, bool]:
    """``path`` as a stream of its (gzip/bzip2/xz-decompressed) bytes, and whether it was compressed."""
    with open(path, "rb") as f:
        magic = f.read(6)
    for prefix, opener in _COMPRESSED:
        if magic.startswith(prefix):
            return opener(path, "rb"), True
    return open(path, "rb"), False


def _iter_tar(path: Path, name: str, stats: ReadStats) -> Iterator[tuple[str, bytes]]:
    """SGF and gzipped-SGF members of a (compressed) tar, in archive order, nothing extracted.

    A compressed tar is read to its end once before its first game is yielded: tarfile stops
    at the end-of-archive block, before the CRC, and a stream that fails its check or is cut
    short yields nothing (its games are counted as "corrupt archive").
    """
    try:
        stream, compressed = _open_decompressed(path)
    except OSError as e:
        stats.skip("unreadable file", name, str(e))
        return
    with stream:
        error = _stream_error(stream) if compressed else None
    if error is not None:
        _skip_corrupt(name, sum(1 for _ in _tar_members(path, name, ReadStats())), error, stats)
        return
    yield from _tar_members(path, name, stats)


def _tar_members(path: Path, name: str, stats: ReadStats) -> Iterator[tuple[str, bytes]]:
    """The games of the SGF and gzipped-SGF members of a (compressed) tar, unchecked."""
    try:
        stream = _open_decompressed(path)[0]
    except OSError as e:
        stats.skip("unreadable file", name, str(e))
        return
    with stream:
        watched = _LastBlock(stream)
        try:
            tar = tarfile.open(fileobj=watched, mode="r:")
        except _ARCHIVE_ERRORS as e:
            stats.skip("bad archive", name, f"{type(e).__name__}: {e}")
            return
        with tar:
            while True:
                try:
                    member = tar.next()
                    if member is None:
                        if len(watched.last) == tarfile.BLOCKSIZE and watched.last.count(0) == tarfile.BLOCKSIZE:
                            break  # the end-of-archive marker
                        if watched.last:  # a short or garbled header block
                            stats.skip("truncated archive", name, f"bad header at byte {tar.offset}")
                        break
                    kind = _kind(member.name)
                    if not member.isfile() or kind not in ("sgf", "gz"):
                        continue
                    if member.size > MAX_FILE_BYTES:
                        _skip_too_large(f"{name}:{member.name}", stats)
                        continue
                    member_file = tar.extractfile(member)
                    assert member_file is not None  # isfile() members always have a file
                    data = member_file.read()
                except _ARCHIVE_ERRORS as e:
                    stats.skip("truncated archive", name, f"{type(e).__name__}: {e}")
                    return
                yield from _iter_data(data, f"{name}:{member.name}", stats, gzipped=kind == "gz")


def _zip_member_count(path: Path) -> int | None:
    """The entry count in a zip's end-of-central-directory record: a damaged directory can
    read as fewer entries (a garbled name length swallows those after it) without an error.
    None where the record is not found or defers to zip64."""
    with open(path, "rb") as f:
        f.seek(max(0, os.fstat(f.fileno()).st_size - _ZIP_TAIL_BYTES))
        tail = f.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 12:
        return None
    count = int.from_bytes(tail[at + 10:at + 12], "little")
    return None if count == 0xFFFF else count


def _iter_zip(path: Path, name: str, stats: ReadStats) -> Iterator[tuple[str, bytes]]:
    """SGF and gzipped-SGF members of a zip, in archive order, nothing extracted."""
    try:
        archive = zipfile.ZipFile(path)
    except _ZIP_ERRORS as e:
        stats.skip("bad archive", name, f"{type(e).__name__}: {e}")
        return
    with archive:
        listed = _zip_member_count(path)
        if listed is not None and listed != len(archive.infolist()):
            stats.skip("bad archive", name, f"garbled central directory: {len(archive.infolist())} "
                                            f"of its {listed} entries readable")
        for info in archive.infolist():
            kind = _kind(info.filename)
            if kind not in ("sgf", "gz"):  # folders too ("a.sgf/"); is_dir() fails on an empty name
                continue
            member_name = f"{name}:{info.filename}"
            if info.file_size > MAX_FILE_BYTES:  # zipfile never returns more than file_size
                _skip_too_large(member_name, stats)
                continue
            try:
                data = archive.read(info)
            except _ZIP_ERRORS as e:
                stats.skip("bad archive member", member_name, f"{type(e).__name__}: {e}")
                continue
            yield from _iter_data(data, member_name, stats, gzipped=kind == "gz")


def _iter_file(path: Path, name: str, kind: str, stats: ReadStats) -> Iterator[tuple[str, bytes]]:
    if kind == "tar":
        yield from _iter_tar(path, name, stats)
    elif kind == "zip":
        yield from _iter_zip(path, name, stats)
    else:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_FILE_BYTES + 1)
        except OSError as e:
            stats.skip("unreadable file", name, str(e))
            return
        if len(data) > MAX_FILE_BYTES:
            _skip_too_large(name, stats)
            return
        yield from _iter_data(data, name, stats, gzipped=kind == "gz")


def _walk(folder: Path, stats: ReadStats) -> list[Path]:
    """The files of a kind this module reads under ``folder``, recursively, sorted by their path inside it.

    Counted instead: a folder that cannot be listed, as "unreadable folder" (os.walk would
    pass over it), and a FIFO or device with such a name, as "unreadable file" (reading it
    could wait forever).
    """

    def unreadable(error: OSError) -> None:
        stats.skip("unreadable folder", str(error.filename), error.strerror or str(error))

    found = []
    for parent, _, files in os.walk(folder, onerror=unreadable):
        for file in files:
            path = Path(parent, file)
            if _kind(file) is None:
                continue
            if path.exists() and not path.is_file():  # a dangling link is left to fail on opening
                stats.skip("unreadable file", str(path), "not a regular file")
                continue
            found.append(path)
    return sorted(found, key=lambda path: path.relative_to(folder).parts)


def _iter_source(path: Path, stats: ReadStats) -> Iterator[tuple[str, bytes]]:
    if path.is_dir():
        prefix = path.resolve().name  # names say "tygem/x.sgfs.gz" however the folder was spelt
        for file in _walk(path, stats):
            inside = file.relative_to(path).as_posix()
            yield from _iter_file(file, f"{prefix}/{inside}" if prefix else inside, _kind(file.name), stats)
    else:
        # a file named explicitly is read as SGF text whatever its name
        yield from _iter_file(path, path.name, _kind(path.name) or "sgf", stats)


def source_files(source: str | os.PathLike, stats: ReadStats | None = None) -> list[Path]:
    """The files :func:`iter_sgf_blobs` reads for ``source``, in its order: the readable
    kinds inside a folder, or the file itself. Lets callers split a folder's work by file;
    folders that cannot be listed are counted in ``stats``."""
    path = Path(source)
    _check_exists(path)
    if path.is_dir():
        return _walk(path, stats if stats is not None else ReadStats())
    return [path]


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(errno.ENOENT, "SGF source not found", str(path))


def iter_sgf_blobs(source: str | os.PathLike, stats: ReadStats | None = None) -> Iterator[tuple[str, bytes]]:
    """(name, bytes of one game) for every game in ``source``, in a fixed order, unparsed.

    ``source`` is a .sgf file (maybe a collection), a .gz of SGF, a folder (read
    recursively for all of these kinds) or a .tar[.gz|.bz2|.xz]/.tgz/.zip archive, read
    without extracting to disk. Unreadable files and members are counted in ``stats``.
    Raises ``FileNotFoundError`` now, not when iterated, if ``source`` does not exist.
    """
    path = Path(source)
    _check_exists(path)
    return _iter_source(path, stats if stats is not None else ReadStats())


def read_records(
    sources: Iterable[str | os.PathLike], stats: ReadStats | None = None, size: int | None = None
) -> Iterator[GameRecord]:
    """Every good game in ``sources`` (see :func:`iter_sgf_blobs`), in order.

    Bad games, files and archive members are counted in ``stats`` by reason, never raised.
    With ``size``, other board sizes are skipped as "board size N". Raises
    ``FileNotFoundError`` now, before reading anything, if a source does not exist.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    paths = [Path(source) for source in sources]
    for path in paths:
        _check_exists(path)
    if size is not None:
        check_size(size)
    return _read_records(paths, stats if stats is not None else ReadStats(), size)


def _read_records(paths: list[Path], stats: ReadStats, size: int | None) -> Iterator[GameRecord]:
    for path in paths:
        for name, data in _iter_source(path, stats):
            try:
                record = _parse_game(data, name, size)
            except SgfError as e:
                stats.skip(e.reason, name, e.detail)
                continue
            stats.games += 1
            stats.positions += len(record.moves)
            yield record


# ---------------------------------------------------------------- writing


RULES = "Chinese"  # SGF RU for gonet's rules: area scoring, positional superko, no suicide


def game_to_sgf(record: GameRecord, program: tuple[str, str] = ("gonet", ""), black: str | None = None,
                white: str | None = None, date: str | None = None) -> str:
    """SGF text of a record (setup, PL when White starts, moves, KM, HA, RE, RU, DT when
    given as ``YYYY-MM-DD``), via sgfmill."""
    game = sgf.Sgf_game(size=record.size)
    root = game.get_root()
    root.set("AP", program)
    root.set("RU", RULES)
    if date:
        root.set("DT", date)
    root.set("KM", float(record.komi))
    if record.handicap:
        root.set("HA", record.handicap)
    if record.result:
        root.set("RE", record.result)
    for ident, name in (("PB", black), ("PW", white)):
        if name:
            root.set(ident, name)

    def point(idx: int) -> tuple[int, int] | None:
        if idx == pass_idx(record.size):
            return None
        row, col = divmod(idx, record.size)
        return record.size - 1 - row, col

    if record.setup:
        root.set_setup_stones([point(i) for c, i in record.setup if c == BLACK],
                              [point(i) for c, i in record.setup if c == WHITE])
        if record.player_to_move_first == WHITE:
            root.set("PL", "w")
    for colour, idx in record.moves:
        game.extend_main_sequence().set_move("b" if colour == BLACK else "w", point(idx))
    return game.serialise().decode("utf-8")
