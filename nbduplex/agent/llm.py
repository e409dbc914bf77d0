"""A router backed by any OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama...).

It sends the conversation so far and the task, with the registry's tool schemas, to
`{base_url}/chat/completions`; runs the tool calls the model asks for (each through the agent,
so each is a span in the trace); sends their results back; and returns the model's final
answer. Plain `urllib` in a worker thread: no new dependency. Any failure (network, HTTP status,
malformed reply, too many rounds) becomes an error `Answer`, never an exception.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from nbduplex.agent.router import Answer, Job
from nbduplex.microturn import TextEvent

SYSTEM_PROMPT = (
    "You are the background agent of a spoken, full-duplex conversation. The conversation so far "
    "is given; the last user message is the task handed to you. Use the tools when they help. "
    "Reply with a short answer (one or two sentences) that can be spoken aloud."
)
_ROLES = {"user": "user", "model": "assistant", "agent": "assistant", "system": "system"}


def context_messages(context: list[TextEvent] | tuple[TextEvent, ...]) -> list[dict[str, Any]]:
    """The conversation as chat messages (user -> user; the model's words and earlier agent
    results -> assistant, the latter marked as such)."""
    messages = []
    for e in context:
        text = e.text if e.role != "agent" else f"(background result) {e.text}"
        messages.append({"role": _ROLES.get(e.role, "user"), "content": text})
    return messages


class OpenAIChatRouter:
    """Routes tasks through an OpenAI-compatible `/v1/chat/completions` endpoint with tools."""

    name = "openai-chat"

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout: float = 30.0,  # seconds per HTTP request
        *,
        max_rounds: int = 4,  # model replies (tool-call rounds + the answer) per task
        system_prompt: str = SYSTEM_PROMPT,
        temperature: float | None = 0.0,
        extra_body: dict[str, Any] | None = None,  # merged into every request body
    ) -> None:
        url = base_url.rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must start with http:// or https://, got {base_url!r}")
        self.url = url if url.endswith("/chat/completions") else url + "/chat/completions"
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.max_rounds = max_rounds
        self.system_prompt = system_prompt
        self.temperature = temperature
        self.extra_body = dict(extra_body or {})

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIChatRouter({self.url!r}, model={self.model!r})"

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """One blocking request; raises on a network error, a bad status or bad JSON."""
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = json.dumps(body).encode()
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = response.read()
        except urllib.error.HTTPError as e:
            detail = e.read()[:300].decode(errors="replace")
            raise RuntimeError(f"HTTP {e.code} from {self.url}: {detail}") from None
        reply = json.loads(payload)
        if not isinstance(reply, dict):
            raise ValueError("the endpoint's reply is not a JSON object")
        return reply

    async def run(self, job: Job) -> Answer:
        """Ask the model, run the tools it calls, and return its final answer."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt}]
        messages += context_messages(list(job.context))
        messages.append({"role": "user", "content": job.task})
        tools = job.tools.schemas()
        try:
            for _ in range(self.max_rounds):
                body: dict[str, Any] = {"model": self.model, "messages": messages}
                if tools:
                    body["tools"] = tools
                if self.temperature is not None:
                    body["temperature"] = self.temperature
                body |= self.extra_body
                reply = await asyncio.to_thread(self._post, body)
                message = reply["choices"][0]["message"]
                calls = message.get("tool_calls") or []
                if not calls:
                    text = (message.get("content") or "").strip()
                    return Answer(text) if text else Answer("The model gave no answer.", "error")
                messages.append(
                    {"role": "assistant", "content": message.get("content"), "tool_calls": calls}
                )
                for call in calls:
                    messages.append(await self._run_call(job, call))
            return Answer(f"No answer after {self.max_rounds} rounds of tool calls.", "error")
        except asyncio.CancelledError:
            raise
        except Exception as e:  # network, HTTP, JSON, unexpected reply shape
            reason = e.reason if isinstance(e, urllib.error.URLError) else e
            if isinstance(reason, TimeoutError):
                return Answer(f"Sorry, the model at {self.url} did not answer in time.", "timeout")
            return Answer(f"Sorry, the model request failed: {type(e).__name__}: {e}", "error")

    async def _run_call(self, job: Job, call: dict[str, Any]) -> dict[str, Any]:
        """Run one requested tool call; its result (or error) as a `tool` message."""
        fn = call.get("function") or {}
        name = str(fn.get("name", ""))
        try:
            args = json.loads(fn.get("arguments") or "{}")
            if not isinstance(args, dict):
                raise ValueError("arguments are not a JSON object")
        except ValueError as e:
            content = f"error: bad arguments for {name}: {e}"
        else:
            result = await job.call(name, args)
            content = result.text if result.ok else f"error: {result.error}"
        return {"role": "tool", "tool_call_id": call.get("id", ""), "content": content}
