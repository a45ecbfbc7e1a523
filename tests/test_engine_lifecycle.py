"""One vLLM engine per process: shared by TRL's trainers (TTRL builds one per problem), variant generation
with the policy, evaluation and TTRL's checks; really freed on release. vLLM itself is faked (tests/fake_vllm.py):
only the ``vllm.LLM`` object, everything around it is the real code (TRL's trainer included)."""

from __future__ import annotations

import pytest
from datasets import Dataset
from omegaconf import OmegaConf
from trl import GRPOConfig

import fake_vllm
from ladder_core.difficulty import CurriculumConfig, CurriculumSampler
from ladder_core.generation import engine
from ladder_core.generation.factory import build_text_generator
from ladder_core.testing.tiny_models import char_tokenizer, tiny_causal_lm
from ladder_core.training.grpo import LadderGRPOTrainer, TrainingMonitor
from ladder_core.records import TreeNode


@pytest.fixture
def fake(monkeypatch):
    # TRL's colocated init writes RANK/LOCAL_RANK/WORLD_SIZE/MASTER_* into os.environ; restore them afterwards,
    # or later runs in this process (and their subprocesses) would set up a process group on port 29500.
    for key in ("RANK", "LOCAL_RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.setenv(key, "0")
        monkeypatch.delenv(key)
    fake_vllm.install(monkeypatch)
    registry = engine.EngineRegistry()
    monkeypatch.setattr(engine, "REGISTRY", registry)
    yield registry
    registry.release_all()


def _cfg(tmp_path, **trainer):
    return OmegaConf.create({
        "seed": 0,
        "model": {"name": "tiny", "name_or_path": str(tmp_path / "policy"), "dtype": "float32", "chat_template": False},
        "trainer": {"use_vllm": True, "vllm_gpu_memory_utilization": 0.3, "device": "cpu", "extra": {}, **trainer},
        "generator": {"_target_": "ladder_core.generation.factory.policy_backend"},
    })


def _model():
    tok = char_tokenizer()
    tok.padding_side = "left"
    return tiny_causal_lm(tok, hidden=16, layers=1, max_positions=128, seed=0), tok


def test_variants_evaluation_and_checks_share_one_policy_engine(fake, tmp_path):
    cfg = _cfg(tmp_path)
    model, tok = _model()
    variants = build_text_generator(cfg)  # generator=policy, as the variants stage builds it
    assert variants.generate(["add(1, 2)"], n=2, temperature=1.0, max_new_tokens=4) == [
        ["add(1, 2) -> 0", "add(1, 2) -> 1"]]
    variants.close()  # the stage closes its generators: the shared engine must survive
    evaluation = engine.policy_text_generator(cfg, model, tok, batch_size=8, chat_template=False, name="tiny",
                                              max_prompt_tokens=32)
    check = engine.policy_text_generator(cfg, model, tok, batch_size=8, chat_template=False, name="tiny")
    evaluation.generate(["a", "b"], n=3, temperature=0.7, max_new_tokens=5)
    check.generate(["c"], n=1, temperature=0.0, max_new_tokens=5)
    assert fake.created == 1 and fake_vllm.LLM.created == 1
    llm = fake.get(engine.POLICY).llm
    assert llm.kwargs["gpu_memory_utilization"] == 0.3  # the trainer's share, not a second 0.85 engine
    # the weights came from the policy in memory (twice: one sync per generator)
    names = {n for n, _ in model.named_parameters()}
    assert set(llm.loaded) == names and len(llm.loaded) == 2 * len(names)
    params = llm.calls[1][1]
    assert params.n == 3 and params.truncate_prompt_tokens == 32 and params.max_tokens == 5


def test_release_really_frees_and_a_later_phase_builds_a_fresh_engine(fake, tmp_path):
    cfg = _cfg(tmp_path)
    gen = build_text_generator(cfg)
    first = fake.get(engine.POLICY).llm
    assert fake.release(engine.POLICY) and first.shut_down and fake.roles() == []
    assert fake.release(engine.POLICY) is False
    gen2 = build_text_generator(cfg)
    assert fake.created == 2 and fake.get(engine.POLICY).llm is not first
    del gen, gen2


def test_a_dedicated_generator_engine_is_freed_by_close(fake, tmp_path):
    cfg = OmegaConf.merge(_cfg(tmp_path), {"generator": {"_target_": "ladder_core.generation.factory.vllm_backend",
                                                         "model": "writer-model", "gpu_memory_utilization": 0.4}})
    gen = build_text_generator(cfg)
    assert fake.roles() == ["generator:writer-model"]
    llm = gen.llm
    assert llm.kwargs["gpu_memory_utilization"] == 0.4
    gen.close()
    assert llm.shut_down and fake.roles() == [] and fake.released == 1
    with pytest.raises(RuntimeError, match="closed"):
        gen.generate(["x"], n=1, temperature=0.0, max_new_tokens=2)


def test_sleep_mode_wakes_for_each_phase_and_sleeps_after(fake, tmp_path):
    cfg = _cfg(tmp_path, extra={"vllm_enable_sleep_mode": True})
    model, tok = _model()
    gen = engine.policy_text_generator(cfg, model, tok, batch_size=8, chat_template=False, name="tiny")
    fake_vllm.EVENTS.clear()
    gen.generate(["a"], n=1, temperature=1.0, max_new_tokens=2)
    gen.generate(["b"], n=1, temperature=1.0, max_new_tokens=2)
    kinds = [k for k, _ in fake_vllm.EVENTS]
    assert kinds == ["sleep", "wake_up", "sleep"]  # awake after the weight sync; then wake, generate, sleep
    assert fake.get(engine.POLICY).asleep


def _trainer(tmp_path, model, tok, use_vllm=True):
    ids = ["n0", "n1"]
    dataset = Dataset.from_list([{"prompt": f"add({i}, 1) =", "node_id": n, "depth": 0} for i, n in enumerate(ids)])
    curriculum = CurriculumSampler([TreeNode(i, None, 0, i) for i in ids],
                                   CurriculumConfig.from_dict({"mode": "uniform"}), seed=0)
    args = GRPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, num_generations=4,
                      max_completion_length=4, max_steps=1, report_to="none", use_cpu=True, save_strategy="no",
                      remove_unused_columns=False, use_vllm=use_vllm, vllm_mode="colocate",
                      vllm_gpu_memory_utilization=0.3)
    return LadderGRPOTrainer(model=model, reward_funcs=[lambda prompts, completions, **k: [0.0] * len(prompts)],
                             args=args, train_dataset=dataset, processing_class=tok, curriculum=curriculum,
                             monitor=TrainingMonitor(curriculum=curriculum, depth_of={}))


def test_trl_trainers_of_a_run_reuse_the_policy_engine(fake, tmp_path):
    """TTRL builds a GRPOTrainer per problem: with vLLM colocated, only the first one builds an engine."""
    model, tok = _model()
    first = _trainer(tmp_path / "a", model, tok)
    second = _trainer(tmp_path / "b", model, tok)
    third = _trainer(tmp_path / "c", model, tok)
    assert fake_vllm.LLM.created == 1 and fake.created == 1
    assert first.vllm_generation.llm is second.vllm_generation.llm is third.vllm_generation.llm
    # evaluation afterwards uses the same engine
    cfg = _cfg(tmp_path)
    engine.policy_text_generator(cfg, model, tok, batch_size=4, chat_template=False, name="tiny").generate(
        ["q"], n=1, temperature=0.0, max_new_tokens=2)
    assert fake_vllm.LLM.created == 1
    import trl.generation.vllm_generation as trl_vllm

    assert trl_vllm.LLM is fake_vllm.LLM  # the patch is scoped to trainer construction


def test_without_vllm_evaluation_runs_transformers_generate(monkeypatch, tmp_path):
    monkeypatch.setattr(engine, "vllm_available", lambda: False)
    model, tok = _model()
    gen = engine.policy_text_generator(_cfg(tmp_path), model, tok, batch_size=4, chat_template=False, name="tiny",
                                       max_prompt_tokens=8)
    from ladder_core.generation.hf import HFTextGenerator

    assert isinstance(gen, HFTextGenerator) and gen.max_prompt_tokens == 8
    assert len(gen.generate(["add(1, 2)"], n=2, temperature=1.0, max_new_tokens=3)[0]) == 2


def test_lora_weights_reach_the_engine_merged_under_base_names(fake, tmp_path):
    from peft import LoraConfig, get_peft_model

    model, tok = _model()
    base_names = {n for n, _ in model.named_parameters()}
    peft_model = get_peft_model(model, LoraConfig(r=2, lora_alpha=4, target_modules=["q_proj", "v_proj"],
                                                  task_type="CAUSAL_LM"))
    names = [n for n, _ in engine.policy_state(peft_model)]
    assert set(names) == base_names and len(names) == len(base_names)


def test_restored_weights_reach_a_live_policy_engine(fake, tmp_path):
    """TTRL restores the weights after each problem; the next problem's tree must sample from them."""
    import torch

    model, tok = _model()
    assert engine.resync_policy_engine(model) is False  # no engine yet: nothing to sync, none created
    assert fake.created == 0
    engine.policy_text_generator(_cfg(tmp_path), model, tok, batch_size=8, chat_template=False, name="tiny")
    llm = fake.get(engine.POLICY).llm
    synced = len(llm.loaded)
    with torch.no_grad():
        next(model.parameters()).add_(1.0)
    assert engine.resync_policy_engine(model) is True
    assert len(llm.loaded) == synced + len(list(model.named_parameters())) and fake.created == 1
