"""The batch wire formats of the fake LLM server: Anthropic Message Batches (create, retrieve,
results as JSON lines) and OpenAI Batch with Files (upload, create, retrieve, output and error
files). Each item is answered exactly like a live call (the next scripted `Reply` of its API, and
logged in `served`); a batch reports `in_progress` for `polls_before_end` retrievals, then ends."""

import email.parser
import email.policy
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any

ANTHROPIC_BATCHES = "/v1/messages/batches"
OPENAI_BATCHES = "/v1/batches"
OPENAI_FILES = "/v1/files"


class FakeBatches:
    def __init__(self, server: Any) -> None:
        self.server = server  # the FakeLLMServer: answers each item with `respond`
        self.polls_before_end = 1
        self.expired_custom_ids: set[str] = set()  # items the batch reports expired
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self.polls_before_end = 1
            self.expired_custom_ids.clear()
            self.files.clear()
            self.batches.clear()

    @staticmethod
    def handles(path: str) -> bool:
        return path.startswith((ANTHROPIC_BATCHES, OPENAI_BATCHES, OPENAI_FILES))

    def post(self, handler: BaseHTTPRequestHandler, path: str, data: bytes) -> None:
        if path == ANTHROPIC_BATCHES:
            _json(handler, self._create_anthropic(json.loads(data)))
        elif path == OPENAI_FILES:
            _json(handler, self._upload(handler.headers["content-type"], data))
        elif path == OPENAI_BATCHES:
            _json(handler, self._create_openai(json.loads(data)))
        else:
            handler.send_error(404)

    def get(self, handler: BaseHTTPRequestHandler, path: str) -> None:
        parts = path.strip("/").split("/")
        if path.startswith(OPENAI_FILES) and parts[-1] == "content":
            _send(handler, self.files[parts[-2]], "application/octet-stream")
        elif path.startswith(ANTHROPIC_BATCHES) and parts[-1] == "results":
            _send(handler, self.batches[parts[-2]]["results"], "application/binary")
        elif parts[-1] in self.batches:
            _json(handler, self._retrieve(parts[-1]))
        else:
            handler.send_error(404)

    def _retrieve(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self.batches[batch_id]
            batch["polls"] += 1
            ended = batch["polls"] > self.polls_before_end
            return batch["ended" if ended else "in_progress"]

    def _create_anthropic(self, body: dict[str, Any]) -> dict[str, Any]:
        batch_id = f"msgbatch_{uuid.uuid4().hex[:24]}"
        lines, counts = [], {"succeeded": 0, "errored": 0, "expired": 0, "canceled": 0}
        for item in body["requests"]:
            if item["custom_id"] in self.expired_custom_ids:
                result: dict[str, Any] = {"type": "expired"}
            else:
                status, payload, _ = self.server.respond("anthropic", item["params"])
                result = (
                    {"type": "succeeded", "message": payload}
                    if status == 200
                    else {"type": "errored", "error": payload}
                )
            counts[result["type"]] += 1
            lines.append({"custom_id": item["custom_id"], "result": result})
        now = datetime.now(UTC)
        common = {
            "id": batch_id,
            "type": "message_batch",
            "created_at": now.isoformat(),
            "expires_at": (now + timedelta(hours=24)).isoformat(),
            "archived_at": None,
            "cancel_initiated_at": None,
        }
        in_progress = common | {
            "processing_status": "in_progress",
            "ended_at": None,
            "results_url": None,
            "request_counts": {"processing": len(lines)} | dict.fromkeys(counts, 0),
        }
        ended = common | {
            "processing_status": "ended",
            "ended_at": now.isoformat(),
            "results_url": f"{self.server.base_url}{ANTHROPIC_BATCHES}/{batch_id}/results",
            "request_counts": {"processing": 0} | counts,
        }
        self._keep(batch_id, in_progress, ended, _jsonl(lines))
        return in_progress

    def _upload(self, content_type: str, data: bytes) -> dict[str, Any]:
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"content-type: {content_type}\r\n\r\n".encode() + data
        )
        (upload,) = [part for part in message.iter_parts() if part.get_filename()]
        content = upload.get_payload(decode=True)
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        with self._lock:
            self.files[file_id] = content
        return _file_object(file_id, upload.get_filename(), content, "batch")

    def _create_openai(self, body: dict[str, Any]) -> dict[str, Any]:
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        output, errors = [], []
        for line in self.files[body["input_file_id"]].decode().splitlines():
            item = json.loads(line)
            row: dict[str, Any] = {"id": f"batch_req_{uuid.uuid4().hex[:20]}"}
            row["custom_id"] = item["custom_id"]
            if item["custom_id"] in self.expired_custom_ids:
                error = {"code": "batch_expired", "message": "not completed in time"}
                errors.append(row | {"response": None, "error": error})
                continue
            status, payload, request_id = self.server.respond("openai", item["body"])
            response = {"status_code": status, "request_id": request_id, "body": payload}
            target = output if status == 200 else errors
            target.append(row | {"response": response, "error": None})
        output_id, error_id = (self._store(rows) for rows in (output, errors))
        created = int(time.time())
        common = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body["endpoint"],
            "input_file_id": body["input_file_id"],
            "completion_window": body["completion_window"],
            "created_at": created,
            "errors": None,
        }
        in_progress = common | {
            "status": "in_progress",
            "request_counts": {"total": len(output) + len(errors), "completed": 0, "failed": 0},
        }
        ended = common | {
            "status": "completed",
            "completed_at": created,
            "output_file_id": output_id,
            "error_file_id": error_id,
            "request_counts": {
                "total": len(output) + len(errors),
                "completed": len(output),
                "failed": len(errors),
            },
        }
        self._keep(batch_id, in_progress, ended, b"")
        return in_progress

    def _store(self, rows: list[dict[str, Any]]) -> str | None:
        if not rows:
            return None
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        with self._lock:
            self.files[file_id] = _jsonl(rows)
        return file_id

    def _keep(self, batch_id: str, in_progress: dict, ended: dict, results: bytes) -> None:
        with self._lock:
            self.batches[batch_id] = {
                "in_progress": in_progress,
                "ended": ended,
                "results": results,
                "polls": 0,
            }


def _file_object(file_id: str, filename: str, content: bytes, purpose: str) -> dict[str, Any]:
    return {
        "id": file_id,
        "object": "file",
        "bytes": len(content),
        "created_at": int(time.time()),
        "filename": filename,
        "purpose": purpose,
        "status": "processed",
    }


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()


def _json(handler: BaseHTTPRequestHandler, payload: dict[str, Any]) -> None:
    _send(handler, json.dumps(payload).encode(), "application/json")


def _send(handler: BaseHTTPRequestHandler, data: bytes, content_type: str) -> None:
    handler.send_response(200)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
