"""The usage ledger: what every LLM call cost, below extraction (which writes it) and analytics
(which reads it).

- `UsageRecord` is one provider attempt or cache hit, the row of the ledger and of `llm_calls`.
- `ledger/<doc_id>.parquet` holds a document's records. It is replaced whole (atomic rename) when a
  run of the document commits, so re-running a document never counts a call twice.
- While a run extracts, each record is appended at once to the run's own journal
  (`ledger/.<doc_id>.<run_id>.journal.jsonl`), so a run killed mid-extraction still leaves a trace
  of the calls it paid for. The journal's open file holds an exclusive `flock` for the run's life:
  the kernel drops it when the process dies, which is how another run knows a journal is orphaned.
- A run commits under the document's lock: new file = billable calls of earlier runs (old file,
  journals of runs still going or dead) + every record of this run, one row per call_id. Offline
  rows and cache hits of earlier runs are dropped: they cost nothing and this run re-did them. The
  run then deletes its own journal and the journals of dead runs whose records it just folded in;
  a journal of a run still going is never deleted by another run.

Columns added to the record later (e.g. `response_cache_hit`) may be missing from older files:
readers fill them with their default.
"""

import fcntl
import io
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

import polars as pl
from pydantic import BaseModel

from medpipeline.costs import OFFLINE_PROVIDER
from medpipeline.storage import DataLayout

JOURNAL_SUFFIX = ".journal.jsonl"
BILLABLE_OUTCOMES = {"ok", "error"}


class UsageRecord(BaseModel):
    """One provider attempt or cache hit: a row of the per-document ledger and of `llm_calls`.

    Token counts are exactly what the API reported (0 for a cache hit). No PHI."""

    call_id: str
    doc_id: str
    chunk_id: str
    run_id: str
    provider: str
    model: str
    prompt_version: str
    document_type: str | None  # None in rows written before document types were detected
    attempt: int
    outcome: str  # ok | error | cached
    error_class: str | None
    response_cache_hit: bool
    parse_strategy: str | None
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_usd: float | None  # None: genai-prices does not know the model
    price_known: bool = True
    batch_id: str | None = None  # answered through a provider's batch API (batch rate)
    latency_ms: float
    request_id: str | None
    started_at: datetime


LEDGER_SCHEMA: dict[str, pl.DataType] = {
    "call_id": pl.String(),
    "doc_id": pl.String(),
    "chunk_id": pl.String(),
    "run_id": pl.String(),
    "provider": pl.String(),
    "model": pl.String(),
    "prompt_version": pl.String(),
    "document_type": pl.String(),
    "attempt": pl.Int32(),
    "outcome": pl.String(),
    "error_class": pl.String(),
    "response_cache_hit": pl.Boolean(),
    "parse_strategy": pl.String(),
    "input_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "cache_read_tokens": pl.Int64(),
    "cache_write_tokens": pl.Int64(),
    "cost_usd": pl.Float64(),  # null: genai-prices does not know the model
    "price_known": pl.Boolean(),
    "batch_id": pl.String(),
    "latency_ms": pl.Float64(),
    "request_id": pl.String(),
    "started_at": pl.Datetime("us", "UTC"),
}

# Columns that older ledger files may lack, and what they mean then.
OPTIONAL_DEFAULTS: dict[str, object] = {
    "document_type": None,
    "response_cache_hit": False,
    "parse_strategy": None,
    "price_known": True,  # rows written before unknown models could be recorded were all priced
    "batch_id": None,
}


# --- Parquet files ---------------------------------------------------------------------------


def records_frame(records: list[UsageRecord]) -> pl.DataFrame:
    """Usage records as a ledger frame."""
    return pl.DataFrame(
        [record.model_dump(include=set(LEDGER_SCHEMA)) for record in records], schema=LEDGER_SCHEMA
    )


def conform(frame: pl.DataFrame) -> pl.DataFrame:
    """A ledger file's frame in LEDGER_SCHEMA: missing optional columns filled, order fixed."""
    missing = [
        pl.lit(OPTIONAL_DEFAULTS.get(column), dtype=dtype).alias(column)
        for column, dtype in LEDGER_SCHEMA.items()
        if column not in frame.columns
    ]
    if missing:
        frame = frame.with_columns(missing)
    return frame.select(
        pl.col(column).cast(dtype) for column, dtype in LEDGER_SCHEMA.items()
    ).with_columns(
        pl.col("response_cache_hit").fill_null(False), pl.col("price_known").fill_null(True)
    )


def write_ledger(layout: DataLayout, doc_id: str, records: list[UsageRecord]) -> Path:
    """Replace the document's ledger file with exactly these records (atomic rename)."""
    target = layout.ledger_file(doc_id)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    records_frame(records).write_parquet(temp)
    os.replace(temp, target)
    return target


def ledger_files(layout: DataLayout) -> list[Path]:
    """Every document's ledger file (journals, locks and temp files start with a dot)."""
    if not layout.ledger.is_dir():
        return []
    return sorted(
        Path(entry.path)
        for entry in os.scandir(layout.ledger)
        if entry.name.endswith(".parquet") and not entry.name.startswith(".")
    )


def read_ledger_files(files: list[Path]) -> pl.DataFrame:
    if not files:
        return pl.DataFrame(schema=LEDGER_SCHEMA)
    return pl.concat([conform(pl.read_parquet(file)) for file in files], how="vertical")


def _signature(stat: os.stat_result) -> str:
    return f"{stat.st_ino}:{stat.st_mtime_ns}:{stat.st_size}"


# --- Segments: many documents' rows in one file ------------------------------------------------
# Opening a small Parquet file costs ~0.4 ms of CPU, so a first build over 50,000 documents'
# files is bound by opening them. `compact_ledger` folds documents' own files into one segment
# file (`ledger/segments/<time>-<pid>.parquet`, immutable), each row with the document its file
# was named after (`file_doc_id`) and the signature of the file version it came from. A
# document's own file wins over a segment unless it is that very version (a compactor killed
# between writing the segment and deleting the files leaves such copies: they are ignored).


@dataclass(frozen=True)
class LedgerSource:
    """Where a document's rows are; `signature` changes whenever they may have."""

    path: Path
    file_signature: str
    segment: bool
    compacted: str | None = None  # of a segment: the signature of the file version folded in

    @property
    def signature(self) -> str:
        if self.segment:
            return f"segment:{self.path.name}:{self.file_signature}"
        return self.file_signature


def _segments(layout: DataLayout) -> list[Path]:
    folder = layout.ledger / "segments"
    return sorted(folder.glob("[!.]*.parquet")) if folder.is_dir() else []  # oldest first


def _segment_index(layout: DataLayout, doc_id: str | None = None) -> dict[str, tuple[Path, str]]:
    """file_doc_id -> (newest segment holding its rows, signature of the version compacted)."""
    segments = _segments(layout)
    if not segments:
        return {}
    scan = pl.scan_parquet([str(p) for p in segments], include_file_paths="segment")
    if doc_id is not None:
        scan = scan.filter(pl.col("file_doc_id") == doc_id)  # row-group statistics skip the rest
    frame = scan.select("file_doc_id", "source_signature", "segment").unique().collect()
    paths = {name: Path(name) for name in frame["segment"].unique()}  # one Path per segment
    return {
        key: (paths[segment], source)
        for key, source, segment in frame.sort("segment").iter_rows()  # newest last, so it wins
    }


def ledger_sources(layout: DataLayout) -> dict[str, LedgerSource]:
    """doc_id -> where its rows are: its own file, or the segment its compacted version is in."""
    index = _segment_index(layout)
    segment_signatures = {path: _signature(path.stat()) for path in {p for p, _ in index.values()}}
    sources = {
        doc_id: LedgerSource(path, segment_signatures[path], True, compacted)
        for doc_id, (path, compacted) in index.items()
    }
    for path in ledger_files(layout):
        try:
            signature = _signature(path.stat())
        except FileNotFoundError:  # deleted since listed
            continue
        if index.get(path.stem, (None, None))[1] != signature:
            sources[path.stem] = LedgerSource(path, signature, False)
    return sources


def _scan_ledger(paths: list[str], extra: dict[str, pl.DataType]) -> pl.DataFrame:
    """Rows of these ledger files in LEDGER_SCHEMA (+ `extra`), with the file each came from."""
    return (
        pl.scan_parquet(
            paths,
            schema=LEDGER_SCHEMA | extra,
            missing_columns="insert",
            extra_columns="ignore",
            cast_options=pl.ScanCastOptions(integer_cast="upcast"),
            include_file_paths="file_path",
        )
        .with_columns(
            pl.col("response_cache_hit").fill_null(False), pl.col("price_known").fill_null(True)
        )
        .collect()
    )


_SNAPSHOT = LEDGER_SCHEMA | {"file_doc_id": pl.String()}


def _read_own_files(
    sources: dict[str, LedgerSource], doc_ids: list[str]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """See `read_ledger_snapshot`: documents' own files, each checked to be the version read."""
    read_as = {doc_id: sources[doc_id].file_signature for doc_id in doc_ids}
    try:
        frame = _scan_ledger([str(sources[doc_id].path) for doc_id in doc_ids], {})
    except (FileNotFoundError, pl.exceptions.PolarsError):  # one was deleted since listed
        frame = pl.DataFrame(schema=LEDGER_SCHEMA | {"file_path": pl.String()})
        read_as = {doc_id: "" for doc_id in doc_ids}
    replaced = []
    for doc_id in doc_ids:
        try:
            if _signature(sources[doc_id].path.stat()) != read_as[doc_id]:
                replaced.append(doc_id)
        except FileNotFoundError:
            replaced.append(doc_id)
    frames = [frame.filter(~pl.col("file_path").is_in([str(sources[d].path) for d in replaced]))]
    for doc_id in replaced:
        path = sources[doc_id].path
        try:
            with path.open("rb") as handle:
                read_as[doc_id] = _signature(os.fstat(handle.fileno()))
                data = handle.read()
        except FileNotFoundError:  # the document was deleted meanwhile
            del read_as[doc_id]
            continue
        frames.append(
            conform(pl.read_parquet(io.BytesIO(data))).with_columns(
                pl.lit(str(path)).alias("file_path")
            )
        )
    rows = pl.concat(frames, how="vertical").with_columns(
        pl.col("file_path").str.split("/").list.last().str.strip_suffix(".parquet")
    )
    return rows.rename({"file_path": "file_doc_id"}).select(list(_SNAPSHOT)), read_as


def read_ledger_snapshot(
    sources: dict[str, LedgerSource], doc_ids: list[str]
) -> tuple[pl.DataFrame, dict[str, str]]:
    """Rows of these documents, each with `file_doc_id` (the document its file is named after),
    and per document the signature of exactly what was read.

    Files are replaced by rename, never changed in place: when a document's own file has the same
    inode, mtime and size after the read as before, the rows are that version's; one replaced in
    between is read again through one descriptor, whose fstat names the version read. Segments
    are immutable."""
    own = [doc_id for doc_id in doc_ids if not sources[doc_id].segment]
    packed = [doc_id for doc_id in doc_ids if sources[doc_id].segment]
    frames, read_as = [pl.DataFrame(schema=_SNAPSHOT)], {}
    if own:
        rows, read_as = _read_own_files(sources, own)
        frames.append(rows)
    if packed:
        wanted = pl.DataFrame(
            {"file_path": [str(sources[d].path) for d in packed], "file_doc_id": packed}
        )
        paths = sorted(set(wanted["file_path"]))
        rows = _scan_ledger(paths, {"file_doc_id": pl.String()})
        frames.append(
            rows.join(wanted, on=["file_path", "file_doc_id"], how="semi").select(list(_SNAPSHOT))
        )
        read_as |= {doc_id: sources[doc_id].signature for doc_id in packed}
    return pl.concat(frames, how="vertical"), read_as


def read_ledger(layout: DataLayout) -> pl.DataFrame:
    """All ledger rows of all documents, in LEDGER_SCHEMA."""
    sources = ledger_sources(layout)
    return read_ledger_snapshot(sources, list(sources))[0].select(list(LEDGER_SCHEMA))


def compact_ledger(
    layout: DataLayout, min_files: int, sources: dict[str, LedgerSource] | None = None
) -> int:
    """Fold documents' own files into one new segment once there are `min_files` of them; returns
    how many were folded. One compactor at a time, and no warehouse build meanwhile (the
    warehouse compacts under its build lock); runs may commit meanwhile. `sources`: the
    `ledger_sources` the caller just listed (a file committed since is folded next time)."""
    sources = ledger_sources(layout) if sources is None else sources
    for path in ledger_files(layout):  # left by a compactor killed before it deleted them
        source = sources.get(path.stem)
        if source is not None and source.segment:
            _unlink_version(layout, path.stem, source.compacted)
    own = [doc_id for doc_id, source in sources.items() if not source.segment]
    if not own or len(own) < min_files:
        return 0
    rows, read_as = read_ledger_snapshot(sources, own)
    write_segment(layout, rows, read_as)
    for doc_id, signature in read_as.items():  # the segment now holds these versions
        _unlink_version(layout, doc_id, signature)
    return len(read_as)


def write_segment(layout: DataLayout, rows: pl.DataFrame, versions: dict[str, str]) -> Path:
    """Write documents' rows (LEDGER_SCHEMA + `file_doc_id`) as one new segment; `versions`
    names, per document, the signature of its own file's version the rows are ("" when the
    rows never were in a file of their own)."""
    versions_frame = pl.DataFrame(
        {"file_doc_id": list(versions), "source_signature": list(versions.values())},
        schema={"file_doc_id": pl.String(), "source_signature": pl.String()},
    )
    segment = rows.select(list(_SNAPSHOT)).join(versions_frame, on="file_doc_id")
    folder = layout.ledger / "segments"
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{os.getpid()}.parquet"
    temp = folder / f".{name}.tmp"
    segment.sort("file_doc_id").write_parquet(temp, row_group_size=20_000)
    os.replace(temp, folder / name)
    return folder / name


def _unlink_version(layout: DataLayout, doc_id: str, signature: str | None) -> None:
    """Delete the document's own file if it is still this version (a commit may have replaced
    it since: then it is the newer rows and stays)."""
    with document_lock(layout, doc_id):
        path = layout.ledger_file(doc_id)
        try:
            if _signature(path.stat()) == signature:
                path.unlink()
        except FileNotFoundError:
            return


def read_document_ledger(layout: DataLayout, doc_id: str) -> list[UsageRecord]:
    """The document's rows: its own file, or the segment holding its compacted version."""
    path = layout.ledger_file(doc_id)
    compacted = _segment_index(layout, doc_id).get(doc_id)
    try:
        signature = _signature(path.stat())
    except FileNotFoundError:
        signature = None
    if signature is not None and (compacted is None or compacted[1] != signature):
        frame = read_ledger_files([path])
    elif compacted is not None:
        frame = (
            pl.scan_parquet(compacted[0])
            .filter(pl.col("file_doc_id") == doc_id)
            .collect()
            .pipe(conform)
        )
    else:
        return []
    return [UsageRecord.model_validate(row) for row in frame.to_dicts()]


# --- Journals of runs in progress ------------------------------------------------------------


def journal_path(layout: DataLayout, doc_id: str, run_id: str) -> Path:
    return layout.ledger / f".{doc_id}.{run_id}{JOURNAL_SUFFIX}"


class UsageJournal:
    """Append-only record log of one run of one document; thread-safe, flushed per record.

    Open from construction to `close()`, holding an exclusive flock that marks the run alive."""

    def __init__(self, layout: DataLayout, doc_id: str, run_id: str):
        layout.ledger.mkdir(parents=True, exist_ok=True)
        self.path = journal_path(layout, doc_id, run_id)
        self._lock = threading.Lock()
        with document_lock(layout, doc_id):  # no commit sees it between open and flock
            self._handle: IO[str] | None = self.path.open("a", encoding="utf-8")
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)

    def append(self, record: UsageRecord) -> None:
        line = record.model_dump_json() + "\n"
        with self._lock:
            if self._handle is None:
                raise ValueError("journal is closed")
            self._handle.write(line)
            self._handle.flush()

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()  # releases the flock
                self._handle = None

    def __enter__(self) -> "UsageJournal":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def journals_of(layout: DataLayout, doc_id: str) -> list[Path]:
    return sorted(layout.ledger.glob(f".{doc_id}.*{JOURNAL_SUFFIX}"))


def read_journal(path: Path) -> list[UsageRecord]:
    """Records of a journal; a last line cut by a kill (or still being written) is ignored."""
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:  # its run committed meanwhile
        return []
    for line in lines:
        try:
            records.append(UsageRecord.model_validate_json(line))
        except ValueError:
            continue
    return records


def journal_is_orphaned(path: Path) -> bool:
    """True when no live process holds the journal open (its run died or committed)."""
    try:
        with path.open("rb") as handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            return True
    except FileNotFoundError:
        return False


# --- Committing a run ------------------------------------------------------------------------


def is_billable(record: UsageRecord) -> bool:
    return record.provider != OFFLINE_PROVIDER and record.outcome in BILLABLE_OUTCOMES


def compose_ledger(earlier: list[UsageRecord], current: list[UsageRecord]) -> list[UsageRecord]:
    """Billable records of earlier runs, then this run's; one row per call_id."""
    current_ids = {record.call_id for record in current}
    kept: dict[str, UsageRecord] = {}
    for record in earlier:
        if is_billable(record) and record.call_id not in current_ids:
            kept.setdefault(record.call_id, record)
    return [*kept.values(), *current]


@contextmanager
def document_lock(layout: DataLayout, doc_id: str) -> Iterator[None]:
    """Serializes the read-compose-replace of one document's ledger file across processes and
    threads: an flock on its own descriptor (the kernel drops it if the holder dies) of one of
    256 lock files, chosen by the doc_id's first two hex digits (no lock file per document)."""
    folder = layout.ledger / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / f"{doc_id[:2]}.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)


def commit_run(
    layout: DataLayout, doc_id: str, run_id: str, records: list[UsageRecord]
) -> list[UsageRecord]:
    """Write the document's ledger file after a run (see the module doc); returns its records."""
    own = journal_path(layout, doc_id, run_id)
    with document_lock(layout, doc_id):
        earlier = read_document_ledger(layout, doc_id)
        journals = journals_of(layout, doc_id)
        orphaned = [path for path in journals if path != own and journal_is_orphaned(path)]
        for path in journals:  # this run's own journal too: attempts before a step retry
            earlier += read_journal(path)
        ledger = compose_ledger(earlier, records)
        write_ledger(layout, doc_id, ledger)
        for path in [own, *orphaned]:
            path.unlink(missing_ok=True)
    return ledger
