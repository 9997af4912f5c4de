"""A local HTTP server speaking the Anthropic Messages and OpenAI Chat Completions wire formats.

Tests drive the official SDKs against it through `base_url`. Each request is answered by the next
scripted `Reply` for its API (or the default: a valid extraction quoting the request's first
line). Every answered request is logged with the usage the server reported, so tests compare the
ledger with what "the API" said.
"""

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ANTHROPIC = "anthropic"
OPENAI = "openai"


@dataclass
class Reply:
    """One scripted answer: an HTTP error status, a delay, or a body override."""

    status: int = 200
    retry_after: float | None = None
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
    usage: dict[str, int] = field(default_factory=dict)
    received_at: float = 0.0  # time.monotonic() when the request arrived


def default_extraction(text: str) -> dict[str, Any]:
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return {"conditions": [{"text": "finding", "quote": first_line, "assertion": "present"}]}


def usage_for(text: str) -> dict[str, int]:
    """Deterministic token counts derived from the request, as an API would report them."""
    return {"input": 1200 + len(text) // 4, "output": 90 + len(text) // 50, "cache_read": 1100}


class FakeLLMServer:
    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency  # seconds added to every reply that sets no delay of its own
        self.max_in_flight = 0
        self.scripts: dict[str, deque[Reply]] = {ANTHROPIC: deque(), OPENAI: deque()}
        self.served: list[Served] = []
        self._lock = threading.Lock()
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

    def _next(self, api: str) -> Reply:
        with self._lock:
            return self.scripts[api].popleft() if self.scripts[api] else Reply()

    def _record(self, served: Served) -> None:
        with self._lock:
            self.served.append(served)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                if self.path.endswith("/v1/messages"):
                    server._answer(self, ANTHROPIC, body)
                elif self.path.endswith("/chat/completions"):
                    server._answer(self, OPENAI, body)
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
        request_id = f"req_{uuid.uuid4().hex[:20]}"
        user_text = _user_text(api, body)
        system_text = _system_text(api, body)
        if reply.delay or self.latency:
            time.sleep(reply.delay or self.latency)
        if reply.status != 200:
            self._record(
                Served(
                    api,
                    reply.status,
                    request_id,
                    body["model"],
                    user_text,
                    system_text,
                    received_at=received_at,
                )
            )
            payload = _error_body(api, reply)
            headers = {"retry-after": str(reply.retry_after)} if reply.retry_after else {}
            _send(handler, reply.status, payload, request_id, api, headers)
            return
        usage = usage_for(user_text)
        extraction = reply.content if reply.content is not None else default_extraction(user_text)
        payload = (
            _anthropic_message(body["model"], extraction, usage, reply)
            if api == ANTHROPIC
            else _openai_completion(
                body["model"], reply.raw_text or json.dumps(extraction), usage, reply
            )
        )
        self._record(
            Served(api, 200, request_id, body["model"], user_text, system_text, usage, received_at)
        )
        _send(handler, 200, payload, request_id, api, {})


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
            "input_tokens": usage["input"] - usage["cache_read"],
            "output_tokens": usage["output"],
            "cache_read_input_tokens": usage["cache_read"],
            "cache_creation_input_tokens": 0,
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
            "prompt_tokens_details": {"cached_tokens": usage["cache_read"]},
        },
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
