"""The ``llm`` variant generator and the transformers backend (tiny local models, no downloads)."""

from __future__ import annotations

import math
import random
import re
import warnings
from collections import Counter

import pytest
import torch
from omegaconf import OmegaConf

from ladder_core.generation.hf import HFTextGenerator
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.records import Problem, TransformationMenu
from ladder_core.testing.scripted_generator import ScriptedTextGenerator
from ladder_core.testing.tiny_models import make_tiny_causal_lm
from ladder_core.testing.toy_domain import ToyDomain, make_problems, parse_numbers
from ladder_core.variants import TreeBuilder, TreeConfig, read_rejections, resolve_generators
from ladder_core.variants.llm_generator import PAPER_TEMPERATURES, LLMVariantGenerator, sample_transformations

torch.set_num_threads(1)

PERSONAS = tuple(ToyDomain().personas())
_ADD = re.compile(r"add\([\d, ]+\)")
_COUNT = re.compile(r"write (\d+) easier")


def scripted_reply(prompt: str, sample: int, temperature: float) -> str:
    """Well-formed variants that encode how they were made: persona index first, temperature x 10 last."""
    persona = next(i for i, p in enumerate(PERSONAS) if f"As {p}," in prompt)
    numbers = parse_numbers(_ADD.search(prompt).group(0))
    count = int(_COUNT.search(prompt).group(1))
    lines = []
    for i in range(count):
        kept = [x for j, x in enumerate(numbers) if j != i % len(numbers)] or [1]
        lines.append(f"{i + 1}. add({', '.join(map(str, [persona + 1, *kept, round(temperature * 10)]))})")
    return "Here are the variants:\n" + "\n".join(lines)


class BigMenuToy(ToyDomain):
    def transformation_menu(self):
        return TransformationMenu(easier=tuple(f"easier {i}" for i in range(10)),
                                  equivalent=tuple(f"same {i}" for i in range(10)))

    def personas(self):
        return ("Euler", "Gauss", "Noether")


def test_prompts_sample_transformations_rotate_personas_and_cycle_temperatures():
    domain = BigMenuToy()
    gen = LLMVariantGenerator(domain, ScriptedTextGenerator(scripted_reply), batch=4)
    problems = make_problems("p", 60, seed=1)
    jobs = gen.prompt_jobs(problems, 10, random.Random(0))
    assert len(jobs) == 60 * 3
    for index in range(60):
        assert [j.asked for j in jobs if j.problem_index == index] == [4, 4, 2]
    menu = domain.transformation_menu()
    picks = [t for j in jobs for t in j.transformations]
    for job in jobs:
        assert 3 <= len(job.transformations) <= 5 and len(set(job.transformations)) == len(job.transformations)
        assert set(job.transformations) <= set(menu.easier) | set(menu.equivalent)
        assert job.prompt == domain.variant_prompt(problems[job.problem_index], list(job.transformations),
                                                   job.persona, job.asked)
    easier = sum(t.startswith("easier") for t in picks) / len(picks)
    assert abs(easier - 0.7) < 0.05, easier
    assert all(a.persona != b.persona and a.temperature != b.temperature for a, b in zip(jobs, jobs[1:]))
    persona_counts = Counter(j.persona for j in jobs)
    assert set(persona_counts) == {"Euler", "Gauss", "Noether"} and set(persona_counts.values()) == {60}
    assert set(Counter(j.temperature for j in jobs).values()) == {45}
    assert set(j.temperature for j in jobs) == set(PAPER_TEMPERATURES)
    only_easier = LLMVariantGenerator(domain, gen.backend, easier_fraction=1.0).prompt_jobs(
        problems[:5], 10, random.Random(1))
    assert all(t.startswith("easier") for j in only_easier for t in j.transformations)


def test_sample_transformations_with_a_small_menu():
    menu = ToyDomain().transformation_menu()  # three rewrites in all
    for seed in range(20):
        chosen = sample_transformations(menu, random.Random(seed), 3, 5, 0.7)
        assert sorted(chosen) == sorted(menu.easier + menu.equivalent)
    only = TransformationMenu(easier=("a",), equivalent=())
    assert sample_transformations(only, random.Random(0), 3, 5, 0.0) == ("a",)


def test_propose_batches_prompts_per_temperature_and_passes_it():
    backend = ScriptedTextGenerator(scripted_reply, name="scripted-7b")
    gen = LLMVariantGenerator(ToyDomain(), backend, batch=10, max_new_tokens=321, top_p=0.95)
    problems = make_problems("p", 8, seed=2, size=5)
    out = gen.propose(problems, 10, random.Random(5))
    assert len(out) == 8 and all(len(props) == 10 for props in out)
    assert sum(len(c.prompts) for c in backend.calls) == 8, "one prompt of 10 variants per problem"
    assert len(backend.calls) == 4 and sorted(c.temperature for c in backend.calls) == sorted(PAPER_TEMPERATURES)
    assert all(c.max_new_tokens == 321 and c.top_p == 0.95 and c.seed is not None and c.n == 1 for c in backend.calls)
    for props in out:
        for p in props:
            numbers = parse_numbers(p.text)
            assert numbers[-1] == round(p.temperature * 10), "the recorded temperature is the one really used"
            assert PERSONAS[numbers[0] - 1] == p.persona
            assert p.generator == "scripted-7b" and len(p.transformations) == 3
    assert all(len(x) == 3 for x in gen.propose(problems, 3, random.Random(6)))


def test_tree_through_the_llm_path_with_a_scripted_backend(tmp_path):
    backend = ScriptedTextGenerator(scripted_reply)
    gen = LLMVariantGenerator(ToyDomain(), backend, batch=5)
    roots = make_problems("llm", 3, seed=3, size=6)
    config = TreeConfig(max_depth=2, per_root=25, children_per_node=5)
    result = TreeBuilder(ToyDomain(), [(gen, 1.0)], tmp_path, config, progress=False).build(roots)
    variants = [n for n in result.nodes if n.depth]
    assert len(variants) == 75 and {n.depth for n in variants} == {1, 2}
    for node in variants:
        numbers = parse_numbers(node.text)
        assert node.temperature in PAPER_TEMPERATURES and numbers[-1] == round(node.temperature * 10)
        assert node.persona in PERSONAS and numbers[0] == PERSONAS.index(node.persona) + 1
        assert node.generator == "llm" and node.model == "scripted" and len(node.transformations) == 3
    assert len({n.temperature for n in variants}) == 4 and len({n.persona for n in variants}) == 2
    assert max(len(c.prompts) for c in backend.calls) > 1, "prompts of several nodes/roots go in one call"
    for stats in result.stats.values():
        assert stats.proposed == stats.accepted + sum(stats.rejections.values())


def test_unparseable_and_hostile_replies_are_counted(tmp_path):
    class Fragile(ToyDomain):
        def parse_variant_reply(self, reply):
            if "explode" in reply:
                raise ValueError("parser bug")
            return super().parse_variant_reply(reply)

    replies = iter(["no variants, sorry " * 40, "explode", "add(1, 2)\nadd(3, 4)"] * 100)
    backend = ScriptedTextGenerator(lambda prompt, j, t: next(replies))
    gen = LLMVariantGenerator(Fragile(), backend, batch=2)
    config = TreeConfig(max_depth=1, per_root=50, children_per_node=2, max_rounds=3)
    result = TreeBuilder(Fragile(), [(gen, 1.0)], tmp_path, config, progress=False).build(
        [Problem("r", "add(5, 6, 7)")])
    stats = result.stats["r"]
    assert stats.rejections["unparseable_reply"] >= 2 and stats.accepted >= 1
    assert stats.proposed == stats.accepted + sum(stats.rejections.values())
    stored = [r for r in read_rejections(tmp_path) if r.reason == "unparseable_reply"]
    assert all(len(r.text) <= 200 and r.temperature in PAPER_TEMPERATURES and r.persona in PERSONAS for r in stored)
    assert gen.stats["replies_unparseable"] == stats.rejections["unparseable_reply"]


# ------------------------------------------------------------------- tiny random model
@pytest.fixture(scope="module")
def tiny():
    texts = [ToyDomain().variant_prompt(p, ["drop a number"], "a careful accountant", 5)
             for p in make_problems("t", 20, seed=4)]
    return make_tiny_causal_lm(texts, initializer_range=1.0, max_positions=256)


def test_tree_through_the_llm_path_with_a_tiny_random_llama(tiny, tmp_path):
    model, tokenizer = tiny
    backend = HFTextGenerator(model, tokenizer, batch_size=16, seed=3, name="tiny-random-llama")
    gen = LLMVariantGenerator(ToyDomain(), backend, batch=5, max_new_tokens=24)
    roots = make_problems("tiny", 2, seed=6)
    config = TreeConfig(max_depth=2, per_root=5, children_per_node=5, max_rounds=2)
    result = TreeBuilder(ToyDomain(), [(gen, 1.0)], tmp_path, config, progress=False).build(roots)
    rejections = read_rejections(tmp_path)
    total = sum(s.proposed for s in result.stats.values())
    assert total == sum(s.accepted for s in result.stats.values()) + len(rejections) > 0
    assert gen.stats["prompts"] >= 4 and gen.stats["backend_calls"] >= 2
    assert Counter(r.reason for r in rejections)["unparseable_reply"] >= 1
    temperatures = {r.temperature for r in rejections}
    assert temperatures <= set(PAPER_TEMPERATURES) and len(temperatures) > 1
    assert {r.persona for r in rejections} <= set(PERSONAS)
    assert all(r.generator == "llm" for r in rejections)


def test_hf_generator_order_n_and_reproducibility(tiny):
    model, tokenizer = tiny
    prompts = ["add(1, 2)", "As a careful accountant, write 5 easier versions of add(10, 20, 30)", "x", "add"]
    gen = HFTextGenerator(model, tokenizer, batch_size=3, seed=1)
    out = gen.generate(prompts, n=3, temperature=1.0, max_new_tokens=8)
    assert len(out) == 4 and all(len(samples) == 3 for samples in out)
    assert len({s for samples in out for s in samples}) > 6, "samples differ"
    again = HFTextGenerator(model, tokenizer, batch_size=3, seed=1).generate(prompts, n=3, temperature=1.0,
                                                                             max_new_tokens=8)
    assert out == again
    first = gen.generate(prompts, n=3, temperature=1.0, max_new_tokens=8, seed=99)
    assert first == gen.generate(prompts, n=3, temperature=1.0, max_new_tokens=8, seed=99)
    assert gen.generate(prompts, n=3, temperature=1.0, max_new_tokens=8, seed=98) != first
    assert gen.generate([], temperature=1.0, max_new_tokens=4) == []
    assert len(gen.generate([""], n=2, temperature=1.0, max_new_tokens=4)[0]) == 2, "an empty prompt starts at BOS"
    with pytest.raises(ValueError):
        gen.generate(prompts, n=0, temperature=1.0, max_new_tokens=4)


def test_hf_generator_left_padding_is_exact(tiny):
    """Greedy output of a prompt alone equals its output inside a padded batch (padding and masks are right)."""
    model, tokenizer = tiny
    prompts = ["add(1, 2)", "As a careful accountant, write 5 easier versions of add(10, 20, 30)", "x", "add(4"]
    gen = HFTextGenerator(model, tokenizer, batch_size=8)
    alone = [gen.generate([p], temperature=0.0, max_new_tokens=10)[0][0] for p in prompts]
    batched = [r[0] for r in gen.generate(prompts, temperature=0.0, max_new_tokens=10)]
    assert alone == batched
    assert len(set(alone)) == len(alone), "the test model must answer prompts differently"


def test_hf_generator_leaves_global_state_alone(tiny):
    model, tokenizer = tiny
    model.train()
    state = torch.get_rng_state()
    try:
        HFTextGenerator(model, tokenizer).generate(["add(1, 2)"], n=2, temperature=1.2, max_new_tokens=4)
        assert model.training, "train mode is restored (the policy may be mid-RL)"
        assert torch.equal(state, torch.get_rng_state()), "the caller's RNG is not consumed"
    finally:
        model.eval()


def test_hf_generator_chat_template_and_long_prompts():
    model, tokenizer = make_tiny_causal_lm(["hello world"] * 4, chat_template=True, max_positions=64)
    gen = HFTextGenerator(model, tokenizer, chat_template=True)
    ids = gen.encode(["hi"])[0]
    assert ids[0] == tokenizer.bos_token_id and ids[1] != tokenizer.bos_token_id
    assert tokenizer.decode(ids) == "<bos>user: hi\nassistant:"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = gen.generate(["hello " * 200], temperature=1.0, max_new_tokens=16)
    assert len(out) == 1 and any("cut from the left" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="no chat template"):
        HFTextGenerator(*make_tiny_causal_lm(["a b"]), chat_template=True)


class StubModel:
    """Returns fixed tokens so end-of-sequence handling can be checked exactly."""

    def __init__(self, new_tokens):
        self.new_tokens = new_tokens
        self.config = type("C", (), {"eos_token_id": 2, "max_position_embeddings": 100, "_name_or_path": "stub"})()
        self.generation_config = type("G", (), {"eos_token_id": [2, 3]})()
        self.device = torch.device("cpu")
        self.training = False
        self.seen = []

    def eval(self):
        return self

    def generate(self, input_ids, attention_mask, generation_config):
        self.seen.append((input_ids.clone(), attention_mask.clone(), generation_config))
        rows = [self.new_tokens[k % len(self.new_tokens)] for k in range(input_ids.shape[0])]
        return torch.cat([input_ids, torch.tensor(rows)], dim=1)


class StubTokenizer:
    pad_token_id = 0
    eos_token_id = 2
    chat_template = None

    def __call__(self, texts, add_special_tokens=True):
        return {"input_ids": [[5 + ord(c) % 50 for c in t] for t in texts]}

    def decode(self, tokens, skip_special_tokens=True):
        return " ".join(str(t) for t in tokens)


def test_hf_generator_cuts_at_any_eos_and_pads_left():
    model = StubModel([[7, 8, 3, 9, 0], [7, 2, 0, 0, 0], [11, 12, 13, 14, 15]])
    gen = HFTextGenerator(model, StubTokenizer(), batch_size=8)
    out = gen.generate(["abcd", "ab", "abc"], temperature=0.7, max_new_tokens=5, top_p=0.9)
    input_ids, mask, cfg = model.seen[0]
    # Longest prompt first, shorter ones padded on the left with the pad id and masked out.
    assert mask.tolist() == [[1, 1, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1]]
    assert input_ids[1, 0].item() == 0 and input_ids[2, :2].tolist() == [0, 0]
    assert cfg.do_sample and cfg.temperature == 0.7 and cfg.top_p == 0.9 and sorted(cfg.eos_token_id) == [2, 3]
    # Prompt order restored ("abcd" got row 0, "abc" row 1, "ab" row 2); completions cut at the first end token.
    assert out == [["7 8"], ["11 12 13 14 15"], ["7"]]
    gen.generate(["a"], temperature=0.0, max_new_tokens=3)
    assert not model.seen[-1][2].do_sample


# ---------------------------------------------------------------------- from_config
@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory, tiny):
    model, tokenizer = tiny
    folder = tmp_path_factory.mktemp("tiny-model")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def full_cfg(backend="policy", **generator):
    generator["_target_"] = f"ladder_core.generation.factory.{backend.replace('-', '_')}_backend"
    return OmegaConf.create({
        "seed": 1,
        "model": {"name": "tiny", "name_or_path": "???", "scale": "full", "chat_template": False, "dtype": "float32",
                  "attn_implementation": None},
        "trainer": {"device": "cpu", "use_vllm": False},
        "generator": {"model": None, "base_url": None, "api_key_env": "OPENAI_API_KEY",
                      "max_new_tokens": 12, "batch_size": 8, "request_timeout_s": 5, "max_concurrency": 2,
                      **generator},
        "variants": {"generators": ["llm"], "mix": [], "batch": 3, "transformations_min": 3,
                     "transformations_max": 5, "temperatures": [0.8, 1.0, 1.2, 1.4], "easier_fraction": 0.7},
    })


def test_from_config_builds_each_local_backend(saved_tiny):
    domain = ToyDomain()
    cfg = full_cfg(backend="transformers", model=str(saved_tiny))
    gen = LLMVariantGenerator.from_config(domain, cfg)
    assert isinstance(gen.backend, HFTextGenerator) and gen.backend.batch_size == 8 and gen.max_new_tokens == 12
    assert gen.batch == 3 and gen.temperatures == PAPER_TEMPERATURES
    out = gen.propose([Problem("a", "add(1, 2, 3)")], 4, random.Random(0))
    assert len(out) == 1 and 1 <= len(out[0]) <= 4
    policy = full_cfg()
    policy.model.name_or_path = str(saved_tiny)
    assert LLMVariantGenerator.from_config(domain, policy).backend.name == "tiny"
    with pytest.raises(ValueError, match=r"generator.model must be set"):
        LLMVariantGenerator.from_config(domain, full_cfg(backend="transformers", model="???"))
    with pytest.raises(ValueError, match="generator._target_='ladder_core.generation.factory.carrier_pigeon_backend' "
                                         "cannot be imported"):
        LLMVariantGenerator.from_config(domain, full_cfg(backend="carrier-pigeon"))


def test_resolve_llm_through_the_builtin_plugin(saved_tiny):
    host = PluginHost(create_plugin_manager(autoload=False))
    cfg = full_cfg(backend="transformers", model=str(saved_tiny))
    [(gen, share)] = resolve_generators(cfg, ToyDomain(), host)
    assert isinstance(gen, LLMVariantGenerator) and share == 1.0 and math.isclose(gen.easier_fraction, 0.7)


# ------------------------------------------------------------------------ vLLM wrapper
def test_vllm_wrapper_against_a_fake_engine(monkeypatch):
    """vLLM is not installed here; a stand-in module checks what the wrapper hands to ``LLM.generate``."""
    import sys
    import types

    from fake_vllm import SamplingParams
    from ladder_core.generation.vllm_backend import VLLMTextGenerator

    fake = types.ModuleType("vllm")
    fake.SamplingParams = SamplingParams
    monkeypatch.setitem(sys.modules, "vllm", fake)
    chat_tokenizer = make_tiny_causal_lm(["hello"], chat_template=True)[1]

    class Engine:
        def __init__(self):
            self.calls = []

        def get_tokenizer(self):
            return chat_tokenizer

        def generate(self, prompts, params, use_tqdm=True):
            self.calls.append((prompts, params, use_tqdm))
            listed = params if isinstance(params, list) else [params] * len(prompts)
            out = types.SimpleNamespace
            return [out(outputs=[out(text=f"{p}|{sp.temperature}|{sp.seed}|{k}") for k in range(sp.n - (i == 1))])
                    for i, (p, sp) in enumerate(zip(prompts, listed))]

    engine = Engine()
    gen = VLLMTextGenerator(engine, chat_template=False, name="fake-vllm")
    out = gen.generate(["a", "b", "c"], n=2, temperature=1.4, max_new_tokens=9, seed=100)
    prompts, params, use_tqdm = engine.calls[-1]
    assert prompts == ["a", "b", "c"] and not use_tqdm
    assert [p.seed for p in params] == [100, 101, 102], "identical prompts must not share a sampling seed"
    assert all(p.n == 2 and p.temperature == 1.4 and p.max_tokens == 9 for p in params)
    assert out == [["a|1.4|100|0", "a|1.4|100|1"], ["b|1.4|101|0", ""], ["c|1.4|102|0", "c|1.4|102|1"]]
    gen.generate(["a"], temperature=0.0, max_new_tokens=3)
    assert engine.calls[-1][1].seed is None and engine.calls[-1][1].temperature == 0.0
    chat = VLLMTextGenerator(engine, chat_template=True)
    chat.generate(["hi"], temperature=1.0, max_new_tokens=3)
    assert engine.calls[-1][0] == ["<bos>user: hi\nassistant:"]
