"""A local OpenAI-compatible model server over real HTTP: answers as the sandbox's fake model
does, or as scripted (the tests and bench/bench_llm.py)."""

import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from messaging.bot.understanding import llm_sandbox


class ModelServer:
    """Answers as the sandbox's fake model does, unless a response is scripted (`play`,
    `play_reading`); `delay` slows every answer; `refuse_schema` answers 400 to a JSON schema,
    as a server without structured outputs does. Records every request, raw body included."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.responses: deque[tuple[int, dict | str]] = deque()
        self.delay = 0.0
        self.refuse_schema = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            # Headers and body go out in two writes: without TCP_NODELAY, Nagle holds the body
            # until the client's delayed ACK, 40 ms on every answer of a kept-alive connection.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers["Content-Length"]))
                body = json.loads(raw)
                server.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "raw": raw, "json": body}
                )
                time.sleep(server.delay)
                status: int
                data: dict | str
                if server.refuse_schema and "response_format" in body:
                    status, data = 400, {"error": {"message": "response_format not supported"}}
                elif server.responses:
                    status, data = server.responses.popleft()
                else:
                    status, data = llm_sandbox.completion(body)
                out = data.encode() if isinstance(data, str) else json.dumps(data).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the client gave up (a timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self.thread.start()

    def play(self, status: int, data: dict | str) -> None:
        self.responses.append((status, data))

    def play_reading(self, **fields: Any) -> None:
        """The next answer: this reading (unnamed fields null, intent "other")."""
        reading = {
            "intent": "other", "day": None, "time": None, "service_id": None,
            "practitioner_id": None, "faq_id": None, **fields,
        }  # fmt: skip
        self.play(200, completion_with(json.dumps(reading)))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def completion_with(content: str | None, **message: Any) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, **message},
                "finish_reason": "stop",
            }
        ],
    }
