"""The data folder contract (see README): where every artifact of the pipeline lives.

Root is `$MEDPIPELINE_DATA_DIR` (default `./data`). Everything under `documents/`, `fhir/` and
`quarantine/` may hold PHI (the PHI stores); everything else (ledger, warehouse, reports,
failures) must not. The PHI stores are owner-only: folders 0700, files 0600.
Writes are atomic (write to a temp file in the same folder, then rename), so a killed process
never leaves a half-written artifact; the files they create are 0600 and the folders 0700.
"""

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

DATA_DIR_ENV = "MEDPIPELINE_DATA_DIR"
SOURCE_PDF = "source.pdf"
INTAKE_RECORD = "intake.json"
FHIR_BUNDLE_ARTIFACT = "fhir_bundle"  # a document with this artifact has reached its bundle
LLM_BATCHES_FOLDER = "llm_batches"  # a document's submitted, not yet collected LLM batches
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class DataLayout:
    root: Path

    @classmethod
    def from_env(cls) -> "DataLayout":
        return cls(Path(os.environ.get(DATA_DIR_ENV, "data")).resolve())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def documents(self) -> Path:
        return self.root / "documents"

    @property
    def ledger(self) -> Path:
        return self.root / "ledger"

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse"

    @property
    def warehouse_db(self) -> Path:
        return self.warehouse / "medpipeline.duckdb"

    @property
    def fhir(self) -> Path:
        return self.root / "fhir"

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def document_dir(self, doc_id: str) -> Path:
        return self.documents / doc_id

    def source_pdf(self, doc_id: str) -> Path:
        return self.document_dir(doc_id) / SOURCE_PDF

    def artifact(self, doc_id: str, asset_name: str) -> Path:
        return self.document_dir(doc_id) / f"{asset_name}.json"

    def ledger_file(self, doc_id: str) -> Path:
        return self.ledger / f"{doc_id}.parquet"

    @property
    def phi_stores(self) -> tuple[Path, ...]:
        return (self.documents, self.fhir, self.quarantine)

    def ensure(self) -> "DataLayout":
        for folder in (self.inbox, self.ledger, self.warehouse):
            folder.mkdir(parents=True, exist_ok=True)
        for store in self.phi_stores:
            make_private_dirs(store)
            store.chmod(PRIVATE_DIR_MODE)  # also a store an older version created 0755
        return self


def make_private_dirs(folder: Path) -> None:
    """`mkdir -p` whose every created folder is 0700 (`Path.mkdir` gives parents the default)."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        created.chmod(PRIVATE_DIR_MODE)  # mkdir's mode is filtered by the umask


def move_private(source: Path, target: Path) -> None:
    """Move a file into a PHI store as an owner-only file (a rename keeps the inbox's mode)."""
    make_private_dirs(target.parent)
    shutil.move(source, target)
    target.chmod(PRIVATE_FILE_MODE)


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically; the file is 0600 (mkstemp), new folders 0700."""
    make_private_dirs(path.parent)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def remove_temp_files(folder: Path) -> int:
    """Delete temp files a killed writer left behind (`write_atomic` never renamed them)."""
    stale = [path for path in folder.rglob(".*.tmp") if path.is_file()] if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return len(stale)


def write_json(path: Path, payload: BaseModel | dict[str, Any] | list[Any]) -> None:
    if isinstance(payload, BaseModel):
        text = payload.model_dump_json(indent=2)
    else:
        text = json.dumps(payload, indent=2, ensure_ascii=False)
    write_atomic(path, text.encode("utf-8"))


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def safe_file_name(name: str) -> str:
    """Only the last path component, so a hostile name cannot write outside its folder."""
    base = Path(name.replace("\\", "/")).name
    return base if base not in ("", ".", "..") else "unnamed"


def quarantine_file(
    layout: DataLayout, source: Path, reason: str, detail: str, original_name: str | None = None
) -> Path:
    """Move `source` into quarantine/ with a `<file>.reason.json` beside it; never overwrite.

    quarantine/ is a PHI store (originals keep their names). `detail` must still hold no PHI (no
    file names, no document text), since reasons are also logged: callers pass codes and counts.
    """
    make_private_dirs(layout.quarantine)
    name = safe_file_name(original_name or source.name)
    target = layout.quarantine / name
    counter = 1
    while target.exists() or target.with_name(target.name + ".reason.json").exists():
        counter += 1
        target = layout.quarantine / f"{Path(name).stem} ({counter}){Path(name).suffix}"
    write_json(target.with_name(target.name + ".reason.json"), {"reason": reason, "detail": detail})
    move_private(source, target)
    return target
