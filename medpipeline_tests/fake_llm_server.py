"""A local HTTP server speaking the Anthropic Messages and OpenAI Chat Completions wire formats.

Tests drive the official SDKs against it through `base_url`. Each request is answered by the next
scripted `Reply` for its API (or the default: a valid extraction quoting the request's first
line). Every answered request is logged with its body and the usage the server reported, so tests
compare the ledger with what "the API" said.

Usage has each API's current shape (the SDKs' `anthropic.types.Usage`, `openai.types.
CompletionUsage`) and prompt caching behaves like the APIs': Anthropic caches the prefix up to a
`cache_control` breakpoint — the first request writes it (`cache_creation_input_tokens`), later
ones read it — and nothing without `cache_control`; OpenAI caches prompts of 1024+ tokens
automatically, reporting reads in 128-token steps. Page images (Anthropic base64 `image` blocks,
OpenAI `image_url` data URLs) are decoded with Pillow, logged, and counted in the input tokens as
each API documents it (Anthropic: width x height / 750; OpenAI high detail: 85 + 170 per
512-px tile of the image scaled into 2048 px, then 768 px on its short side).
"""

import base64
import io
import json
import math
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from PIL import Image

from medpipeline_tests.fake_batch_api import FakeBatches

ANTHROPIC = "anthropic"
OPENAI = "openai"


@dataclass
class Reply:
    """One scripted answer: an HTTP error status, a delay, or a body override."""

    status: int = 200
    retry_after: float | None = None
    headers: dict[str, str] = field(default_factory=dict)  # extra response headers
    delay: float = 0.0
    content: Any = None  # the extraction (tool input / JSON text); None = default
    raw_text: str | None = None  # reply text as given: OpenAI content / Anthropic text block
    error_message: str = "scripted failure"
    stop_reason: str | None = None  # Anthropic stop_reason / OpenAI finish_reason override
    refusal: str | None = None  # OpenAI message.refusal


@dataclass
class Served:
    api: str
    status: int
    request_id: str
    model: str
    user_text: str
    system_text: str
    usage: dict[str, int] = field(default_factory=dict)  # input (whole prompt), output,
    # cache_read, cache_write
    body: dict[str, Any] = field(default_factory=dict)
    received_at: float = 0.0  # time.monotonic() when the request arrived
    images: list["SentImage"] = field(default_factory=list)


@dataclass
class SentImage:
    """An image a request carried, decoded."""

    media_type: str
    data: bytes
    image: Image.Image


def sent_images(api: str, body: dict[str, Any]) -> list[SentImage]:
    """The images of the request's user messages (a malformed one raises: a 400)."""
    found = []
    for message in body["messages"]:
        if message["role"] != "user" or not isinstance(message["content"], list):
            continue
        for part in message["content"]:
            if api == ANTHROPIC and part.get("type") == "image":
                assert part["source"]["type"] == "base64"
                media_type, data = part["source"]["media_type"], part["source"]["data"]
            elif api == OPENAI and part.get("type") == "image_url":
                header, data = part["image_url"]["url"].split(",", 1)
                assert header.startswith("data:") and header.endswith(";base64")
                media_type = header.removeprefix("data:").removesuffix(";base64")
            else:
                continue
            raw = base64.b64decode(data, validate=True)
            image = Image.open(io.BytesIO(raw))
            image.load()
            found.append(SentImage(media_type, raw, image))
    return found


def image_tokens(api: str, image: Image.Image) -> int:
    width, height = image.size
    if api == ANTHROPIC:
        return math.ceil(width * height / 750)
    fit = min(1.0, 2048 / max(width, height))
    width, height = width * fit, height * fit
    short = min(1.0, 768 / min(width, height))
    width, height = width * short, height * short
    return 85 + 170 * math.ceil(width / 512) * math.ceil(height / 512)


def default_extraction(text: str) -> dict[str, Any]:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return {"conditions": [{"text": "finding", "quote": first_line, "assertion": "present"}]}


def tokens(text: str) -> int:
    """The server's deterministic token count: one token per four characters."""
    return len(text) // 4


OPENAI_MIN_CACHED = 1024


def has_cache_control(body: dict[str, Any]) -> bool:
    blocks = [*body.get("tools", []), *(body.get("system") or [])]
    return any(isinstance(block, dict) and "cache_control" in block for block in blocks)


def _prefix(api: str, body: dict[str, Any]) -> str:
    """The request's fixed part (tools/schema and system prompt), which prompt caching covers."""
    if api == ANTHROPIC:
        return json.dumps([body["model"], body.get("tools"), body.get("system")], sort_keys=True)
    system = [m for m in body["messages"] if m["role"] == "system"]
    return json.dumps([body["model"], body.get("response_format"), system], sort_keys=True)


class FakeLLMServer:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency  # seconds added to every reply that sets no delay of its own
        self.max_in_flight = 0
        self.scripts: dict[str, deque[Reply]] = {ANTHROPIC: deque(), OPENAI: deque()}
        self.served: list[Served] = []
        self._cached_prefixes: set[str] = set()
        self._lock = threading.Lock()
        self.batches = FakeBatches(self)
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeLLMServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, api: str, *replies: Reply) -> None:
        with self._lock:
            self.scripts[api].extend(replies)

    def reset(self) -> None:
        """Forget scripts and the log, once slow replies of an earlier test have finished."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=10)
            for queue in self.scripts.values():
                queue.clear()
            self.served.clear()
            self._cached_prefixes.clear()
            self.batches.clear()

    def _next(self, api: str) -> Reply:
        with self._lock:
            return self.scripts[api].popleft() if self.scripts[api] else Reply()

    def _record(self, served: Served) -> None:
        with self._lock:
            self.served.append(served)

    def _usage(
        self, api: str, body: dict[str, Any], user_text: str, images: list[SentImage]
    ) -> dict[str, int]:
        """Token counts of a request, with the prompt cache as the API would apply it."""
        prefix = _prefix(api, body)
        prefix_tokens = tokens(prefix)
        user_tokens = 20 + tokens(user_text) + sum(image_tokens(api, i.image) for i in images)
        with self._lock:
            seen = prefix in self._cached_prefixes
            cacheable = (
                has_cache_control(body)
                if api == ANTHROPIC
                else (prefix_tokens + user_tokens >= OPENAI_MIN_CACHED)
            )
            if cacheable:
                self._cached_prefixes.add(prefix)
        if api == OPENAI:
            read = prefix_tokens // 128 * 128 if cacheable and seen else 0
            write = 0
        else:
            read = prefix_tokens if cacheable and seen else 0
            write = prefix_tokens if cacheable and not seen else 0
        return {
            "input": prefix_tokens + user_tokens,
            "output": 90 + len(user_text) // 50,
            "cache_read": read,
            "cache_write": write,
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                data = self.rfile.read(int(self.headers["content-length"]))
                if server.batches.handles(self.path):
                    server.batches.post(self, self.path, data)
                elif self.path.endswith("/v1/messages"):
                    server._answer(self, ANTHROPIC, json.loads(data))
                elif self.path.endswith("/chat/completions"):
                    server._answer(self, OPENAI, json.loads(data))
                else:
                    self.send_error(404)

            def do_GET(self) -> None:  # noqa: N802
                if server.batches.handles(self.path):
                    server.batches.get(self, self.path)
                else:
                    self.send_error(404)

        return Handler

    def _answer(self, handler: BaseHTTPRequestHandler, api: str, body: dict[str, Any]) -> None:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            self._reply(handler, api, body)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def _reply(self, handler: BaseHTTPRequestHandler, api: str, body: dict[str, Any]) -> None:
        received_at = time.monotonic()
        reply = self._next(api)
        if reply.delay or self.latency:
            time.sleep(reply.delay or self.latency)
        status, payload, request_id = self.respond(api, body, reply, received_at)
        headers = {"retry-after": str(reply.retry_after)} if reply.retry_after else {}
        if status != 200:
            headers |= reply.headers
        _send(handler, status, payload, request_id, api, headers)

    def respond(
        self,
        api: str,
        body: dict[str, Any],
        reply: Reply | None = None,
        received_at: float | None = None,
    ) -> tuple[int, dict[str, Any], str]:
        """(status, response body, request id) of one request, logged in `served`; a batch item
        is answered exactly like a live call (the next scripted reply by default)."""
        received_at = time.monotonic() if received_at is None else received_at
        reply = reply or self._next(api)
        request_id = f"req_{uuid.uuid4().hex[:20]}"
        user_text = _user_text(api, body)
        system_text = _system_text(api, body)
        try:
            images = sent_images(api, body)
        except Exception:  # what the API answers for an image it cannot decode
            reply = Reply(status=400, error_message="invalid image")
            images = []
        if reply.status != 200:
            self._record(
                Served(
                    api,
                    reply.status,
                    request_id,
                    body["model"],
                    user_text,
                    system_text,
                    body=body,
                    received_at=received_at,
                )
            )
            return reply.status, _error_body(api, reply), request_id
        usage = self._usage(api, body, user_text, images)
        extraction = reply.content if reply.content is not None else default_extraction(user_text)
        payload = (
            _anthropic_message(body["model"], extraction, usage, reply)
            if api == ANTHROPIC
            else _openai_completion(
                body["model"], reply.raw_text or json.dumps(extraction), usage, reply
            )
        )
        self._record(
            Served(
                api,
                200,
                request_id,
                body["model"],
                user_text,
                system_text,
                usage,
                body,
                received_at=received_at,
                images=images,
            )
        )
        return 200, payload, request_id


def _user_text(api: str, body: dict[str, Any]) -> str:
    messages = [m for m in body["messages"] if m["role"] == "user"]
    content = messages[-1]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def _system_text(api: str, body: dict[str, Any]) -> str:
    if api == ANTHROPIC:
        system = body.get("system") or []
        return system if isinstance(system, str) else "".join(p["text"] for p in system)
    return "".join(m["content"] for m in body["messages"] if m["role"] == "system")


def _error_body(api: str, reply: Reply) -> dict[str, Any]:
    if api == ANTHROPIC:
        kinds = {429: "rate_limit_error", 529: "overloaded_error", 401: "authentication_error"}
        kind = kinds.get(
            reply.status, "api_error" if reply.status >= 500 else "invalid_request_error"
        )
        return {"type": "error", "error": {"type": kind, "message": reply.error_message}}
    return {"error": {"message": reply.error_message, "type": "error", "code": None}}


def _anthropic_message(
    model: str, extraction: Any, usage: dict[str, int], reply: Reply
) -> dict[str, Any]:
    if reply.stop_reason == "refusal":
        content: list[dict[str, Any]] = []
    elif reply.raw_text is not None:
        content = [{"type": "text", "text": reply.raw_text}]
    else:
        tool_id = f"toolu_{uuid.uuid4().hex[:20]}"
        content = [
            {
                "type": "tool_use",
                "id": tool_id,
                "name": "record_clinical_facts",
                "input": extraction,
            }
        ]
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": reply.stop_reason or ("end_turn" if reply.raw_text else "tool_use"),
        "stop_sequence": None,
        "usage": {
            "input_tokens": usage["input"] - usage["cache_read"] - usage["cache_write"],
            "cache_creation_input_tokens": usage["cache_write"],
            "cache_read_input_tokens": usage["cache_read"],
            "cache_creation": {
                "ephemeral_5m_input_tokens": usage["cache_write"],
                "ephemeral_1h_input_tokens": 0,
            },
            "output_tokens": usage["output"],
            "service_tier": "standard",
        },
    }


def _openai_completion(
    model: str, text: str, usage: dict[str, int], reply: Reply
) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "finish_reason": reply.stop_reason or "stop",
                "message": {
                    "role": "assistant",
                    "content": None if reply.refusal else text,
                    "refusal": reply.refusal,
                },
            }
        ],
        "usage": {
            "prompt_tokens": usage["input"],
            "completion_tokens": usage["output"],
            "total_tokens": usage["input"] + usage["output"],
            "prompt_tokens_details": {"cached_tokens": usage["cache_read"], "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": 0,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        },
        "service_tier": "default",
        "system_fingerprint": None,
    }


def _send(
    handler: BaseHTTPRequestHandler,
    status: int,
    payload: dict[str, Any],
    request_id: str,
    api: str,
    headers: dict[str, str],
) -> None:
    data = json.dumps(payload).encode()
    try:
        handler.send_response(status)
        handler.send_header("content-type", "application/json")
        handler.send_header("content-length", str(len(data)))
        handler.send_header("request-id" if api == ANTHROPIC else "x-request-id", request_id)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout tests)
        pass
