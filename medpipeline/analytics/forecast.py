"""Cost forecast: what extracting a set of documents would cost with each candidate model, from
the token counts of their chunks, before any LLM call — at standard and batch prices.

Per chunk, one call is assumed: prompt = fixed overhead (system prompt + extraction schema) +
the chunk's tokens; output = `output_ratio` x the chunk's tokens. Both are calibrated from the
ledger when the model has history (successful, uncached calls joined with their chunks); the
overhead is cached after the first call of a document (write once, read after) when it is long
enough for the provider's prompt cache.
"""

import json
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from pydantic import BaseModel, ConfigDict, Field

from medpipeline.analytics.prices import Processing, unit_prices
from medpipeline.artifacts import load_chunks
from medpipeline.chunking import ChunkingConfig, chunk_document, count_tokens, join_pages
from medpipeline.documents import doc_id_from_sha256, file_digests
from medpipeline.ledger import read_ledger
from medpipeline.pdf import PdfLimits, PdfRejected, extract_pages
from medpipeline.storage import DataLayout

DEFAULT_OUTPUT_RATIO = 0.35
MIN_CACHEABLE_TOKENS = 1024
_CACHE_WRITES = {"anthropic"}  # providers that bill a cache write (others cache for free)


class Candidate(BaseModel):
    model_config = ConfigDict(frozen=True)

    provider: str
    model: str

    @classmethod
    def parse(cls, text: str) -> "Candidate":
        provider, _, model = text.partition("/")
        return cls(provider=provider, model=model)


class TokenModel(BaseModel):
    overhead_tokens: int = Field(description="Prompt tokens of every call besides the chunk.")
    output_ratio: float = Field(description="Output tokens per chunk token.")
    output_base: float = Field(default=0.0, description="Output tokens of every call.")
    cache_read_per_call: float | None = Field(
        default=None,
        description="Observed prompt-cache reads per call; None: first call "
        "writes the overhead, later calls of the document read it.",
    )
    cache_write_per_call: float | None = None
    calibrated: bool = Field(description="From this model's history in the ledger.")


FORECAST_SCHEMA = {
    "doc_id": pl.String(),
    "source": pl.String(),
    "provider": pl.String(),
    "model": pl.String(),
    "chunks": pl.Int64(),
    "chunk_tokens": pl.Int64(),
    "prompt_tokens": pl.Int64(),
    "output_tokens": pl.Int64(),
    "standard_usd": pl.Float64(),
    "batch_usd": pl.Float64(),
    "calibrated": pl.Boolean(),
}


def prompt_overhead_tokens() -> int:
    """Tokens of the system prompt and the extraction schema sent with every chunk."""
    from medpipeline.extraction.schema import ChunkExtraction

    try:
        from medpipeline.extraction.prompts import DocumentType, system_prompt

        system = system_prompt(DocumentType.OTHER)
    except ImportError:  # older layout: one fixed prompt
        from medpipeline.extraction.providers import SYSTEM_PROMPT as system
    return count_tokens(system) + count_tokens(json.dumps(ChunkExtraction.model_json_schema()))


def calibrate(layout: DataLayout, candidate: Candidate) -> TokenModel:
    """Overhead and output ratio from the ledger's successful uncached calls of this model."""
    default = TokenModel(
        overhead_tokens=prompt_overhead_tokens(),
        output_ratio=DEFAULT_OUTPUT_RATIO,
        calibrated=False,
    )
    ledger = read_ledger(layout).filter(
        (pl.col("provider") == candidate.provider)
        & (pl.col("model") == candidate.model)
        & (pl.col("outcome") == "ok")
        & ~pl.col("response_cache_hit")
    )
    if ledger.is_empty():
        return default
    chunk_tokens: dict[str, int] = {}
    for doc_id in ledger["doc_id"].unique().to_list():
        chunk_tokens.update(_chunk_tokens_of(layout, doc_id))
    calls = ledger.with_columns(
        pl.col("chunk_id").replace_strict(chunk_tokens, default=None).alias("chunk_tokens")
    ).drop_nulls("chunk_tokens")
    if calls.is_empty():
        return default
    includes_cache = candidate.provider not in _CACHE_WRITES
    prompt = pl.col("input_tokens") + (
        0 if includes_cache else pl.col("cache_read_tokens") + pl.col("cache_write_tokens")
    )
    x = calls["chunk_tokens"].cast(pl.Float64)
    y = calls["output_tokens"].cast(pl.Float64)
    if x.n_unique() > 1:  # least squares: output = base + ratio x chunk tokens
        ratio = float(((x - x.mean()) * (y - y.mean())).sum() / ((x - x.mean()) ** 2).sum())
        base = float(y.mean() - ratio * x.mean())
    else:
        ratio, base = float(y.sum() / max(x.sum(), 1)), 0.0
    overhead, reads, writes = calls.select(
        (prompt - pl.col("chunk_tokens")).mean(),
        pl.col("cache_read_tokens").mean(),
        pl.col("cache_write_tokens").mean(),
    ).row(0)
    return TokenModel(
        overhead_tokens=max(int(round(overhead)), 0),
        output_ratio=max(ratio, 0.0),
        output_base=max(base, 0.0),
        cache_read_per_call=reads,
        cache_write_per_call=writes,
        calibrated=True,
    )


def _chunk_tokens_of(layout: DataLayout, doc_id: str) -> dict[str, int]:
    try:
        chunks = load_chunks(layout, doc_id).chunks
    except FileNotFoundError:
        return {}
    return {chunk.chunk_id: chunk.tokens for chunk in chunks}


def inbox_chunk_tokens(
    pdf: Path, limits: PdfLimits, chunking: ChunkingConfig
) -> tuple[str, list[int]] | None:
    """doc_id and chunk token counts of a PDF still in the inbox (None: not a readable PDF)."""
    sha256, _ = file_digests(pdf)
    doc_id = doc_id_from_sha256(sha256)
    try:
        pages = extract_pages(pdf, limits)
    except PdfRejected:
        return None
    text, offsets = join_pages(pages)
    return doc_id, [chunk.tokens for chunk in chunk_document(doc_id, text, offsets, chunking)]


def inbox_documents(
    files: list[Path], limits: PdfLimits, chunking: ChunkingConfig
) -> tuple[dict[str, tuple[str, list[int]]], int]:
    """The inbox's readable PDFs as {doc_id: ("inbox", chunk tokens)}, and how many files are
    not readable PDFs. A file the sensor takes meanwhile is skipped: its error would name the
    file, and an inbox file's name may be a patient's."""
    documents: dict[str, tuple[str, list[int]]] = {}
    unreadable = 0
    for pdf in files:
        try:
            found = inbox_chunk_tokens(pdf, limits, chunking)
        except FileNotFoundError:
            continue
        if found is None:
            unreadable += int(pdf.exists())
        else:
            documents.setdefault(found[0], ("inbox", found[1]))
    return documents, unreadable


def price_document(
    chunk_tokens: list[int], candidate: Candidate, tokens: TokenModel, day: date
) -> dict[str, float | int]:
    prompt = sum(tokens.overhead_tokens + t for t in chunk_tokens)
    output = sum(round(tokens.output_base + tokens.output_ratio * t) for t in chunk_tokens)
    if tokens.cache_read_per_call is not None:  # as observed for this model
        cache_read = round(tokens.cache_read_per_call * len(chunk_tokens))
        cache_write = round((tokens.cache_write_per_call or 0) * len(chunk_tokens))
    else:
        cached_calls = max(len(chunk_tokens) - 1, 0)
        cacheable = tokens.overhead_tokens >= MIN_CACHEABLE_TOKENS and chunk_tokens
        cache_read = tokens.overhead_tokens * cached_calls if cacheable else 0
        writes = cacheable and candidate.provider in _CACHE_WRITES
        cache_write = tokens.overhead_tokens if writes else 0
    uncached = max(prompt - cache_read - cache_write, 0)
    result: dict[str, float | int] = {"prompt_tokens": prompt, "output_tokens": output}
    for processing in Processing:
        prices = unit_prices(candidate.provider, candidate.model, day, processing)
        result[f"{processing.value}_usd"] = (
            uncached * prices.input
            + output * prices.output
            + cache_read * prices.cache_read
            + cache_write * prices.cache_write
            if prices
            else float("nan")
        )
    return result


def forecast(
    documents: dict[str, tuple[str, list[int]]],
    candidates: list[Candidate],
    models: dict[Candidate, TokenModel] | None = None,
    *,
    day: date | None = None,
) -> pl.DataFrame:
    """One row per (document, candidate). `documents`: doc_id -> (source, chunk token counts)."""
    day = day or datetime.now(UTC).date()
    rows = []
    for candidate in candidates:
        tokens = (models or {}).get(candidate) or TokenModel(
            overhead_tokens=prompt_overhead_tokens(),
            output_ratio=DEFAULT_OUTPUT_RATIO,
            calibrated=False,
        )
        for doc_id, (source, chunk_tokens) in sorted(documents.items()):
            rows.append(
                {
                    "doc_id": doc_id,
                    "source": source,
                    "provider": candidate.provider,
                    "model": candidate.model,
                    "chunks": len(chunk_tokens),
                    "chunk_tokens": sum(chunk_tokens),
                    **price_document(chunk_tokens, candidate, tokens, day),
                    "calibrated": tokens.calibrated,
                }
            )
    return pl.DataFrame(rows, schema=FORECAST_SCHEMA)


def chunked_doc_ids(layout: DataLayout) -> list[str]:
    """Every document whose chunks are stored (what has been processed so far)."""
    if not layout.documents.is_dir():
        return []
    return sorted(path.parent.name for path in layout.documents.glob("*/document_chunks.json"))


def partition_documents(layout: DataLayout, doc_ids: list[str]) -> dict[str, tuple[str, list[int]]]:
    """Chunk token counts of already-chunked documents (the chosen partition set)."""
    found = {}
    for doc_id in doc_ids:
        tokens = _chunk_tokens_of(layout, doc_id)
        if tokens:
            found[doc_id] = ("partition", list(tokens.values()))
    return found
