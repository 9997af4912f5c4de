"""Searching stored bytes for PHI canaries as an auditor would, not the way the code wrote them.

Every file is searched as raw bytes (UTF-8 and UTF-16, any case) and inside every zlib or gzip
stream found in it; SQLite databases are also read value by value (base64 and compressed values
decoded), DuckDB and Parquet files through their readers (their string compression hides raw
bytes). File names are searched too.
"""

import base64
import binascii
import re
import sqlite3
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb

_ZLIB_HEADERS = re.compile(rb"\x78[\x01\x5e\x9c\xda]|\x1f\x8b")
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_-]{24,}$")
_MAX_INFLATED = 64 << 20


def canary_hits(roots: Iterable[Path], canaries: Iterable[str]) -> list[str]:
    """`<file>: <canary> (<where>)` for every canary found under `roots` (files or folders)."""
    needles = [canary.lower() for canary in canaries]
    hits = []
    for path in _files(roots):
        for where, blob in _views(path):
            lowered = blob.lower()
            for needle in needles:
                encodings = (
                    needle.encode(),
                    needle.encode("utf-16-le"),
                    needle.encode("utf-16-be"),
                )
                if any(encoded in lowered for encoded in encodings):
                    hits.append(f"{path}: {needle} ({where})")
        hits += [
            f"{path}: {needle} (file name)" for needle in needles if needle in str(path).lower()
        ]
    return hits


def _files(roots: Iterable[Path]) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in sorted(root.rglob("*")) if path.is_file())


def _views(path: Path) -> Iterator[tuple[str, bytes]]:
    data = path.read_bytes()
    yield "raw bytes", data
    yield from (("compressed stream", inflated) for inflated in _inflate_all(data))
    if data.startswith(b"SQLite format 3"):
        yield from (("sqlite value", value) for value in _sqlite_values(path))
    elif path.suffix == ".duckdb":
        yield "duckdb tables", _duckdb_text(f"'{path}'", path)
    elif path.suffix == ".parquet":
        yield "parquet rows", _duckdb_text(f"read_parquet('{path}')", None)


def _inflate_all(data: bytes) -> Iterator[bytes]:
    for match in _ZLIB_HEADERS.finditer(data):
        wbits = 31 if match.group().startswith(b"\x1f") else 15
        try:
            inflated = zlib.decompressobj(wbits).decompress(data[match.start() :], _MAX_INFLATED)
        except zlib.error:
            continue
        if inflated:
            yield inflated


def _sqlite_values(path: Path) -> Iterator[bytes]:
    with sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in db.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        yield value.encode()
                        yield from _decoded(value)
                    elif isinstance(value, bytes):
                        yield value
                        yield from _inflate_all(value)


def _decoded(text: str) -> Iterator[bytes]:
    if not _BASE64.match(text):
        return
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_")
    except (binascii.Error, ValueError):
        return
    yield raw
    yield from _inflate_all(raw)


def _duckdb_text(source: str, database: Path | None) -> bytes:
    """Every value of every table as text (DuckDB compresses strings on disk)."""
    with duckdb.connect(str(database) if database else ":memory:", read_only=bool(database)) as db:
        if database is None:
            return str(db.execute(f"SELECT * FROM {source}").fetchall()).encode()
        tables = db.execute("SELECT table_name FROM duckdb_tables()").fetchall()
        return b"".join(
            str(db.execute(f'SELECT * FROM "{name}"').fetchall()).encode() for (name,) in tables
        )
