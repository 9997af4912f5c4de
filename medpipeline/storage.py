"""The data folder contract (see README): where every artifact of the pipeline lives.

Root is `$MEDPIPELINE_DATA_DIR` (default `./data`). Everything under `documents/` and `fhir/` may
hold PHI; everything else (ledger, warehouse, quarantine reason files) must not.
Writes are atomic (write to a temp file in the same folder, then rename), so a killed process
never leaves a half-written artifact.
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

    def ensure(self) -> "DataLayout":
        for folder in (self.inbox, self.quarantine, self.documents, self.ledger, self.warehouse):
            folder.mkdir(parents=True, exist_ok=True)
        return self


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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

    `detail` must not contain PHI (no file names, no document text): callers pass codes and counts.
    """
    layout.quarantine.mkdir(parents=True, exist_ok=True)
    name = safe_file_name(original_name or source.name)
    target = layout.quarantine / name
    counter = 1
    while target.exists() or target.with_name(target.name + ".reason.json").exists():
        counter += 1
        target = layout.quarantine / f"{Path(name).stem} ({counter}){Path(name).suffix}"
    write_json(target.with_name(target.name + ".reason.json"), {"reason": reason, "detail": detail})
    shutil.move(source, target)
    return target
