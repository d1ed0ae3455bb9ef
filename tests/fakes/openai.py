"""An OpenAI-compatible chat-completions endpoint (what Ollama, llama.cpp and hosted APIs serve),
answering from a script so tests get good, over-long, link-inventing and slow answers."""
from __future__ import annotations

from tests.fakes.server import FakeServer, Reply, Request

KEY = "sk-test-llm-key-123"


class FakeChat(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Reply | str] = []            # given in order; the last one repeats
        self.route("POST", "/v1/chat/completions", self.complete)

    def complete(self, request: Request) -> Reply:
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return Reply(401, {"error": {"message": "Incorrect API key provided"}})
        body = request.json()
        if not isinstance(body, dict) or not body.get("model") or not isinstance(body.get("messages"), list):
            return Reply(400, {"error": {"message": "model and messages are required"}})
        with self.lock:
            answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Reply):
            return answer
        return Reply(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                           "choices": [{"index": 0, "finish_reason": "stop",
                                        "message": {"role": "assistant", "content": answer}}]})

    @property
    def base_url(self) -> str:
        return self.url + "/v1"
