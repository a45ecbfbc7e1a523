"""The OpenAI-compatible client against a local ``http.server`` speaking ``/v1/chat/completions``."""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from omegaconf import OmegaConf

from ladder_core.generation.openai_compat import OpenAICompatError, OpenAICompatTextGenerator
from ladder_core.testing.toy_domain import ToyDomain, make_problems, parse_numbers
from ladder_core.variants import TreeBuilder, TreeConfig
from ladder_core.variants.llm_generator import PAPER_TEMPERATURES, LLMVariantGenerator


class FakeServer:
    """A tiny chat-completions server; every request is recorded with its headers."""

    def __init__(self, reply=None, *, delay=0.0, fail=None, ignore_n=False, raw=None):
        self.reply = reply or (lambda body, i: f"echo {body['messages'][-1]['content']} #{i}")
        self.delay = delay
        self.fail = fail  # body -> (status, headers) or None
        self.ignore_n = ignore_n
        self.raw = raw
        self.requests: list[tuple[dict, dict]] = []
        self.inflight = 0
        self.max_inflight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    server.requests.append((dict(self.headers), body))
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    delay = server.delay(body) if callable(server.delay) else server.delay
                    time.sleep(delay)
                    if self.path != "/v1/chat/completions":
                        return self._send(404, b'{"error": "not found"}')
                    failure = server.fail(body) if server.fail else None
                    if failure:
                        status, headers = failure
                        return self._send(status, b'{"error": "try again"}', headers)
                    if server.raw is not None:
                        return self._send(200, server.raw)
                    count = 1 if server.ignore_n else body.get("n", 1)
                    payload = {
                        "object": "chat.completion",
                        "choices": [{"index": i, "message": {"role": "assistant", "content": server.reply(body, i)},
                                     "finish_reason": "stop"} for i in reversed(range(count))],
                        "usage": {"completion_tokens": 3 * count},
                    }
                    self._send(200, json.dumps(payload).encode())
                finally:
                    with server.lock:
                        server.inflight -= 1

            def _send(self, status, data, headers=None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except OSError:  # the client gave up (timeout test)
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def bodies(self):
        return [body for _, body in self.requests]

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def serve():
    servers = []

    def start(**kwargs):
        servers.append(FakeServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def client(server, **kwargs):
    kwargs.setdefault("backoff_s", 0.01)
    return OpenAICompatTextGenerator(server.base_url, "test-model", **kwargs)


def test_sampling_parameters_are_sent_and_order_is_kept(serve, monkeypatch):
    # Later prompts answer first: the client must still return them in prompt order.
    server = serve(delay=lambda body: 0.05 * (6 - int(body["messages"][-1]["content"][1:])))
    monkeypatch.setenv("LADDER_TEST_KEY", "sk-test-123")
    prompts = [f"p{i}" for i in range(6)]
    with OpenAICompatTextGenerator.from_env(server.base_url, "test-model", api_key_env="LADDER_TEST_KEY",
                                            max_concurrency=6) as gen:
        out = gen.generate(prompts, n=2, temperature=1.3, max_new_tokens=77, top_p=0.9, seed=10)
    assert out == [[f"echo {p} #0", f"echo {p} #1"] for p in prompts]
    assert len(server.requests) == 6
    seeds = set()
    for headers, body in server.requests:
        assert headers["Authorization"] == "Bearer sk-test-123"
        assert body["model"] == "test-model" and body["n"] == 2
        assert body["temperature"] == 1.3 and body["top_p"] == 0.9 and body["max_tokens"] == 77
        assert body["messages"] == [{"role": "user", "content": body["messages"][-1]["content"]}]
        seeds.add(body["seed"])
    assert len(seeds) == 6, "each prompt gets its own seed"


def test_no_key_no_authorization_header(serve, monkeypatch):
    server = serve()
    monkeypatch.delenv("LADDER_UNSET_KEY", raising=False)
    gen = OpenAICompatTextGenerator.from_env(server.base_url, "m", api_key_env="LADDER_UNSET_KEY")
    assert gen.generate(["hi"], temperature=0.8, max_new_tokens=5) == [["echo hi #0"]]
    assert "Authorization" not in server.requests[0][0] and "seed" not in server.requests[0][1]


def test_requests_run_concurrently_up_to_the_limit(serve):
    server = serve(delay=0.2)
    gen = client(server, max_concurrency=4)
    out = gen.generate([f"q{i}" for i in range(8)], temperature=1.0, max_new_tokens=5)
    # Four requests were in flight at once (a wall-clock bound would be flaky on a loaded CI box).
    assert len(out) == 8 and server.max_inflight == 4


def test_transient_errors_are_retried(serve):
    attempts: dict[str, int] = {}

    def fail(body):
        prompt = body["messages"][-1]["content"]
        attempts[prompt] = attempts.get(prompt, 0) + 1
        if prompt == "flaky" and attempts[prompt] <= 2:
            return 500, {}
        if prompt == "busy" and attempts[prompt] == 1:
            return 429, {"Retry-After": "0"}
        return None

    server = serve(fail=fail)
    gen = client(server)
    out = gen.generate(["flaky", "busy", "fine"], temperature=1.0, max_new_tokens=5)
    assert out == [["echo flaky #0"], ["echo busy #0"], ["echo fine #0"]]
    assert attempts == {"flaky": 3, "busy": 2, "fine": 1}
    assert gen.stats["retries"] == 3 and gen.stats["failures"] == 0 and gen.stats["completion_tokens"] == 9


def test_persistent_errors_raise_or_give_empty_text(serve):
    server = serve(fail=lambda body: (503, {}))
    with pytest.raises(OpenAICompatError, match="HTTP 503"):
        client(server, max_retries=2).generate(["x"], temperature=1.0, max_new_tokens=5)
    assert len(server.requests) == 3
    assert client(server, max_retries=0, on_error="empty").generate(["x", "y"], n=2, temperature=1.0,
                                                                     max_new_tokens=5) == [["", ""], ["", ""]]


def test_client_errors_are_not_retried(serve):
    server = serve(fail=lambda body: (400, {}))
    with pytest.raises(OpenAICompatError, match="HTTP 400"):
        client(server, max_retries=5).generate(["x"], temperature=1.0, max_new_tokens=5)
    assert len(server.requests) == 1


def test_timeouts_are_retried_then_reported(serve):
    server = serve(delay=1.0)
    gen = client(server, request_timeout_s=0.2, max_retries=1)
    start = time.monotonic()
    with pytest.raises(OpenAICompatError, match="Timeout"):
        gen.generate(["slow"], temperature=1.0, max_new_tokens=5)
    assert time.monotonic() - start < 1.5 and gen.stats["requests"] == 2


def test_servers_that_ignore_n_are_topped_up(serve):
    server = serve(ignore_n=True)
    out = client(server).generate(["a"], n=3, temperature=1.0, max_new_tokens=5)
    assert out == [["echo a #0"] * 3]
    assert [body["n"] for body in server.bodies()] == [3, 2, 1]


def test_malformed_responses_are_errors(serve):
    server = serve(raw=b'{"choices": "nope"}')
    with pytest.raises(OpenAICompatError, match="malformed"):
        client(server).generate(["a"], temperature=1.0, max_new_tokens=5)
    with pytest.raises(ValueError):
        OpenAICompatTextGenerator("", "m")


def test_variant_tree_through_an_openai_compatible_server(serve, tmp_path):
    personas = tuple(ToyDomain().personas())

    def reply(body, i):
        """Variants that encode the temperature the server really received and the persona in the prompt."""
        prompt = body["messages"][-1]["content"]
        persona = next(k for k, p in enumerate(personas) if f"As {p}," in prompt)
        numbers = parse_numbers(re.search(r"add\([\d, ]+\)", prompt).group(0))
        count = int(re.search(r"write (\d+) easier", prompt).group(1))
        temp = round(body["temperature"] * 10)
        return "\n".join(
            f"add({', '.join(map(str, [persona + 1] + numbers[:k] + numbers[k + 1:] + [temp]))})"
            for k in range(min(count, len(numbers))))

    server = serve(reply=reply, delay=0.02)
    cfg = OmegaConf.create({
        "seed": 0,
        "model": {"scale": "full", "name_or_path": "unused"},
        "trainer": {"device": "cpu", "use_vllm": False},
        "generator": {"_target_": "ladder_core.generation.factory.openai_backend", "model": "gpt-test",
                      "base_url": server.base_url, "api_key_env": "LADDER_UNSET_KEY", "max_new_tokens": 256,
                      "batch_size": 16, "request_timeout_s": 5, "max_concurrency": 4},
        "variants": {"batch": 5, "transformations_min": 3, "transformations_max": 5,
                     "temperatures": [0.8, 1.0, 1.2, 1.4], "easier_fraction": 0.7},
    })
    gen = LLMVariantGenerator.from_config(ToyDomain(), cfg)
    assert isinstance(gen.backend, OpenAICompatTextGenerator) and gen.model_name == "gpt-test"
    roots = make_problems("api", 3, seed=8, size=5)
    config = TreeConfig(max_depth=2, per_root=12, children_per_node=5)
    result = TreeBuilder(ToyDomain(), [(gen, 1.0)], tmp_path, config, progress=False).build(roots)
    assert {body["temperature"] for body in server.bodies()} == set(PAPER_TEMPERATURES)
    assert all(body["max_tokens"] == 256 and body["model"] == "gpt-test" for body in server.bodies())
    assert server.max_inflight > 1, "prompts of one batch are sent concurrently"
    variants = [n for n in result.nodes if n.depth]
    assert len(variants) == 36
    for node in variants:
        numbers = parse_numbers(node.text)
        assert numbers[-1] == round(node.temperature * 10) and personas[numbers[0] - 1] == node.persona
        assert node.model == "gpt-test" and node.generator == "llm"

