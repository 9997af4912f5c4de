"""LLM extraction throughput against the local wire-format server with a per-call latency.

    .venv/bin/python bench/llm_throughput.py --documents 20 --latency 0.5 --concurrency 4
    .venv/bin/python bench/llm_throughput.py --documents 18 --latency 2 --requests-per-minute 60

Documents are generated progress notes (distinct text, so no response-cache hits), chunked as the
pipeline does; each is extracted through the Anthropic provider (official SDK over HTTP).
`--parallel-documents` runs several documents at once, as concurrent Dagster runs would.
Prints documents/min, achieved concurrency vs the configured limit, and input tokens per chunk
split into the fixed prompt overhead and the document text. With `--requests-per-minute` every
call first takes its place in the shared rate limiter (Redis at `--redis`, as the pipeline's
`rate_limits`); the bench then prints the requests the server received per window: the most in
any window (never above the limit) and the mean over the windows of the steady state.
"""

import argparse
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from medpipeline import samples
from medpipeline.chunking import ChunkingConfig, chunk_document, count_tokens, join_pages
from medpipeline.extraction.clients import AnthropicProvider
from medpipeline.extraction.prompts import DocumentType, system_prompt
from medpipeline.extraction.providers import ExtractionChain, ExtractionProvider
from medpipeline.extraction.rate_limits import (
    ProviderRateLimit,
    RateLimitedProvider,
    SharedRateLimiter,
)
from medpipeline.extraction.schema import ChunkExtraction
from medpipeline.pdf import PageText
from medpipeline_tests.fake_llm_server import FakeLLMServer, Served


def make_documents(count: int) -> list[list[tuple[str, str, str]]]:
    """(chunk_id, text) lists of `count` distinct multi-page notes, chunked from their page texts
    in this process (a PDF round trip adds nothing to an LLM throughput figure)."""
    documents = []
    for index in range(count):
        pages = [
            PageText(
                page=number,
                text=f"PROGRESS NOTE SERIES {index}\n{page}",
                method="text_layer",
                quality=1.0,
            )
            for number, page in enumerate(samples.PROGRESS_PAGES, start=1)
        ]
        text, offsets = join_pages(pages)
        chunks = chunk_document(f"doc{index}", text, offsets, ChunkingConfig())
        documents.append([(chunk.chunk_id, chunk.text, chunk.context) for chunk in chunks])
    return documents


def requests_per_window(served: list[Served], window: float) -> tuple[int, float]:
    """The most requests that arrived within one window, and the mean count of the windows
    that start at an arrival after the first window (the steady state) and end by the last."""
    arrivals = sorted(request.received_at for request in served)
    counts = [sum(1 for t in arrivals if start <= t < start + window) for start in arrivals]
    steady = [
        count
        for start, count in zip(arrivals, counts, strict=True)
        if arrivals[0] + window <= start and start + window <= arrivals[-1]
    ]
    return max(counts), (sum(steady) / len(steady) if steady else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20)
    parser.add_argument("--latency", type=float, default=0.5, help="seconds per LLM call")
    parser.add_argument("--concurrency", type=int, default=4, help="chunks in flight per document")
    parser.add_argument("--parallel-documents", type=int, default=2)
    parser.add_argument("--requests-per-minute", type=int, help="shared rate limit of the calls")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()

    started = time.perf_counter()
    documents = make_documents(args.documents)
    print(f"prepared {args.documents} documents in {time.perf_counter() - started:.1f} s")
    server = FakeLLMServer(latency=args.latency).start()
    provider: ExtractionProvider = AnthropicProvider(
        api_key="bench",
        model="claude-sonnet-5-5",
        base_url=server.base_url,
        timeout=60,
        max_output_tokens=2048,
    )
    rate_limit = ProviderRateLimit(requests_per_minute=args.requests_per_minute)
    if args.requests_per_minute:
        namespace = f"bench-{uuid.uuid4().hex[:8]}"
        provider = RateLimitedProvider(
            provider, SharedRateLimiter(args.redis, provider.name, rate_limit, namespace)
        )
    chain = ExtractionChain([provider])

    def extract(chunks: list[tuple[str, str, str]]) -> None:
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
    if args.requests_per_minute:
        window = rate_limit.window_seconds
        most, mean = requests_per_window(server.served, window)
        print(
            f"rate limit: {args.requests_per_minute} requests per {window:g} s (admission counted"
            f" over {window + rate_limit.delivery_margin_seconds:g} s)"
            f"; requests received per window: max {most}, steady-state mean {mean:.1f} "
            f"= {mean / args.requests_per_minute:.0%} of the limit"
        )


if __name__ == "__main__":
    main()
