"""A client for any OpenAI-compatible ``/chat/completions`` endpoint.

Covers ``vllm serve``, llama.cpp's server, SGLang and hosted APIs, without the
``openai`` package. What it does that the LADDER authors' script did not:

* the sampling temperature (and ``top_p``, ``max_tokens``, ``seed``) is really
  sent with every request, since cycling it is one of the method's knobs;
* prompts are sent concurrently from a thread pool (``max_concurrency``), each
  request bounded by ``request_timeout_s``;
* transient failures (connection errors, timeouts, HTTP 408/409/429/5xx) are
  retried with exponential backoff and jitter, honouring ``Retry-After``;
* servers that ignore ``n`` (llama.cpp) are topped up with extra requests.

Uses ``httpx`` (what users of OpenAI-compatible servers already have installed),
imported when a client is created.
"""

from __future__ import annotations

import os
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


class OpenAICompatError(RuntimeError):
    """A request failed for good (retries exhausted or a non-retryable HTTP status)."""


def _httpx() -> Any:
    import httpx

    return httpx


class OpenAICompatTextGenerator:
    """:class:`~ladder_core.generation.TextGenerator` over an OpenAI-compatible chat endpoint.

    ``base_url`` ends before ``/chat/completions`` (e.g. ``http://127.0.0.1:8000/v1``).
    ``api_key`` may be ``None`` for local servers; :meth:`from_env` reads it
    from an environment variable. ``on_error="raise"`` stops on a request that
    fails for good; ``"empty"`` returns empty completions for it instead.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_concurrency: int = 8,
        request_timeout_s: float = 120.0,
        max_retries: int = 4,
        backoff_s: float = 0.5,
        max_backoff_s: float = 30.0,
        system_prompt: str | None = None,
        on_error: str = "raise",
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("base_url is required (e.g. http://127.0.0.1:8000/v1)")
        if not model:
            raise ValueError("model is required (the name the server knows the model by)")
        if on_error not in ("raise", "empty"):
            raise ValueError(f"on_error must be 'raise' or 'empty', got {on_error!r}")
        self.base_url = base_url.rstrip("/")
        self.url = f"{self.base_url}/chat/completions"
        self.model = model
        self.name = model
        self.max_concurrency = max(1, int(max_concurrency))
        self.request_timeout_s = float(request_timeout_s)
        self.max_retries = max(0, int(max_retries))
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.system_prompt = system_prompt
        self.on_error = on_error
        self.extra_body = dict(extra_body or {})
        headers = {"Content-Type": "application/json"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        httpx = _httpx()
        self._httpx = httpx
        self._client = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(self.request_timeout_s),
            limits=httpx.Limits(max_connections=self.max_concurrency, max_keepalive_connections=self.max_concurrency),
        )
        self._lock = threading.Lock()
        self.stats = {"requests": 0, "retries": 0, "failures": 0, "completion_tokens": 0}

    @classmethod
    def from_env(cls, base_url: str, model: str, api_key_env: str | None = "OPENAI_API_KEY",
                 **kwargs: Any) -> OpenAICompatTextGenerator:
        """Like the constructor, with the API key read from ``api_key_env`` (unset is fine locally)."""
        key = os.environ.get(api_key_env) if api_key_env else None
        return cls(base_url, model, api_key=key or None, **kwargs)

    # -------------------------------------------------------------- generation
    def generate(
        self,
        prompts: list[str],
        *,
        n: int = 1,
        temperature: float,
        max_new_tokens: int,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> list[list[str]]:
        """``n`` completions per prompt, in prompt order; requests run concurrently."""
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        if not prompts:
            return []
        params = {"temperature": float(temperature), "top_p": float(top_p), "max_tokens": int(max_new_tokens)}
        workers = min(self.max_concurrency, len(prompts))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ladder-openai") as pool:
            futures = [
                pool.submit(self._complete, prompt, n, params, None if seed is None else seed + i)
                for i, prompt in enumerate(prompts)
            ]
            return [f.result() for f in futures]

    def _complete(self, prompt: str, n: int, params: dict[str, Any], seed: int | None) -> list[str]:
        texts: list[str] = []
        for request in range(n + 2):  # bounded: a server returning nothing must not loop forever
            missing = n - len(texts)
            if missing <= 0:
                break
            body = self._body(prompt, missing, params, None if seed is None else seed + 7919 * request)
            try:
                got = self._post(body)
            except OpenAICompatError:
                if self.on_error == "empty":
                    break
                raise
            if not got:
                break
            texts.extend(got)
        texts = texts[:n]
        return texts + [""] * (n - len(texts))

    def _body(self, prompt: str, n: int, params: dict[str, Any], seed: int | None) -> dict[str, Any]:
        messages = []
        if self.system_prompt:
            messages.append({"role": "system", "content": self.system_prompt})
        messages.append({"role": "user", "content": prompt})
        body: dict[str, Any] = {"model": self.model, "messages": messages, "n": n, **params, **self.extra_body}
        if seed is not None:
            body["seed"] = int(seed)
        return body

    def _post(self, body: dict[str, Any]) -> list[str]:
        httpx = self._httpx
        last = ""
        for attempt in range(self.max_retries + 1):
            if attempt:
                with self._lock:
                    self.stats["retries"] += 1
            with self._lock:
                self.stats["requests"] += 1
            retry_after: float | None = None
            try:
                response = self._client.post(self.url, json=body)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code == 200:
                    return self._parse(response)
                last = f"HTTP {response.status_code}: {response.text[:300]}"
                if response.status_code not in RETRY_STATUS:
                    break
                retry_after = _retry_after(response.headers.get("retry-after"))
            if attempt < self.max_retries:
                delay = min(self.max_backoff_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                time.sleep(min(self.max_backoff_s, retry_after) if retry_after is not None else delay)
        with self._lock:
            self.stats["failures"] += 1
        raise OpenAICompatError(f"{self.url} (model {self.model}) failed: {last}")

    def _parse(self, response: Any) -> list[str]:
        try:
            payload = response.json()
            choices = sorted(payload["choices"], key=lambda c: c.get("index", 0))
            texts = [(c.get("message") or {}).get("content") or "" for c in choices]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OpenAICompatError(f"{self.url}: malformed response ({exc}): {response.text[:300]}") from exc
        usage = payload.get("usage") or {}
        with self._lock:
            self.stats["completion_tokens"] += int(usage.get("completion_tokens") or 0)
        return [str(t) for t in texts]

    def close(self) -> None:
        """Close the HTTP connection pool. Safe to call twice."""
        self._client.close()

    def __enter__(self) -> OpenAICompatTextGenerator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
