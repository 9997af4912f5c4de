"""LLM extraction throughput against the local wire-format server with a per-call latency.

    .venv/bin/python bench/llm_throughput.py --documents 20 --latency 0.5 --concurrency 4

Documents are generated progress notes (distinct text, so no response-cache hits), chunked as the
pipeline does; each is extracted through the Anthropic provider (official SDK over HTTP).
`--parallel-documents` runs several documents at once, as concurrent Dagster runs would.
Prints documents/min, achieved concurrency vs the configured limit, and input tokens per chunk
split into the fixed prompt overhead and the document text.
"""

import argparse
import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from medpipeline import samples
from medpipeline.chunking import ChunkingConfig, chunk_document, count_tokens, join_pages
from medpipeline.extraction.clients import AnthropicProvider
from medpipeline.extraction.prompts import DocumentType, system_prompt
from medpipeline.extraction.providers import ExtractionChain
from medpipeline.extraction.schema import ChunkExtraction
from medpipeline.pdf import PdfLimits, extract_pages
from medpipeline_tests.fake_llm_server import FakeLLMServer


def make_documents(count: int, folder: Path) -> list[list[tuple[str, str]]]:
    """(chunk_id, text) lists of `count` distinct multi-page notes."""
    documents = []
    for index in range(count):
        pages = [f"PROGRESS NOTE SERIES {index}\n{page}" for page in samples.PROGRESS_PAGES]
        pdf = samples.render_text_pdf(folder / f"note-{index}.pdf", pages)
        text, offsets = join_pages(extract_pages(pdf, PdfLimits(), ocr=False))
        chunks = chunk_document(f"doc{index}", text, offsets, ChunkingConfig())
        documents.append([(chunk.chunk_id, chunk.text) for chunk in chunks])
    return documents


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per LLM call")
    parser.add_argument("--concurrency", type=int, default=4, help="chunks in flight per document")
    parser.add_argument("--parallel-documents", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        documents = make_documents(args.documents, Path(folder))
    server = FakeLLMServer(latency=args.latency).start()
    provider = AnthropicProvider(
        api_key="bench",
        model="claude-sonnet-5-5",
        base_url=server.base_url,
        timeout=60,
        max_output_tokens=2048,
    )
    chain = ExtractionChain([provider])

    def extract(chunks: list[tuple[str, str]]) -> None:
        chain.extract_chunks(
            "bench", chunks, "bench-run", DocumentType.PROGRESS_NOTE, args.concurrency
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.parallel_documents) as pool:
        list(pool.map(extract, documents))
    elapsed = time.perf_counter() - started
    server.stop()

    calls = len(server.served)
    limit = args.concurrency * args.parallel_documents
    achieved = calls * args.latency / elapsed  # mean calls in flight
    overhead = count_tokens(system_prompt(DocumentType.PROGRESS_NOTE)) + count_tokens(
        json.dumps(ChunkExtraction.model_json_schema())
    )
    chunk_tokens = [count_tokens(text) for chunks in documents for _, text in chunks]
    print(f"documents: {args.documents}, chunks: {calls}, latency/call: {args.latency} s")
    print(f"wall time: {elapsed:.1f} s, documents/min: {args.documents / elapsed * 60:.1f}")
    print(
        f"concurrency limit: {limit} ({args.parallel_documents} documents x {args.concurrency}"
        f" chunks), max in flight: {server.max_in_flight}, mean in flight: {achieved:.2f}"
    )
    print(f"throughput vs limit: {achieved / limit:.0%} of {limit / args.latency:.1f} calls/s")
    print(
        f"input tokens per chunk: fixed prompt overhead ~{overhead} (system prompt + tool "
        f"schema, o200k count), document text mean {sum(chunk_tokens) / len(chunk_tokens):.0f}"
        f" (min {min(chunk_tokens)}, max {max(chunk_tokens)})"
    )


if __name__ == "__main__":
    main()
