"""GRPO through the ladder trainer really learns: a learnable reward rises on a tiny random model.

The reward (share of the letter 'a' in the completion) is contributed by a
plugin through ``ladder_reward_functions``; the domain's own accuracy and
format rewards are set to zero, so any rise comes from the optimisation.
"""

import json

import pytest
from ladder_core.config import register_plugin_configs
from ladder_core.hookspecs import RewardSpec, hookimpl
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.testing.compose import compose_config
from ladder_core.testing.tiny_models import tiny_llama
from ladder_core.testing.toy_domain import ToyDomain, ToyPlugin
from ladder_core.training.run import train_on_nodes
from ladder_core.records import TreeNode


def share_of_a(prompts, completions, **kwargs):
    return [c.count("a") / max(1, len(c)) for c in completions]


class LetterRewardPlugin:
    @hookimpl
    def ladder_reward_functions(self):
        return [RewardSpec("share_of_a", lambda domain, cfg: share_of_a)]


@pytest.fixture
def host():
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[ToyPlugin(), LetterRewardPlugin()]))
    register_plugin_configs(host)
    return host


def compose_cfg(host, tmp_path, model_dir, overrides=()):
    return compose_config(host, ["+domain=toy", f"model.name_or_path={model_dir}",
                                 *overrides], run_dir=tmp_path)


def test_learnable_reward_rises(tmp_path, host):
    model_dir = tiny_llama(tmp_path / "model", hidden=32, layers=1, seed=0)
    cfg = compose_cfg(host, tmp_path, model_dir, [
        "trainer.max_steps=16", "trainer.prompts_per_step=2", "trainer.num_generations=8",
        "trainer.learning_rate=1e-2", "trainer.beta=0.0", "trainer.report_to=[]", "trainer.save_steps=1000",
        "+trainer.extra.lr_scheduler_type=constant", "model.max_completion_length=8",
        "reward.correct=0.0", "reward.formatted=0.0", "reward.extra=[share_of_a]",
        "curriculum.dynamic_sampling=false",
    ])
    from ladder_core.models import load_policy

    model, tokenizer = load_policy(cfg.model, device="cpu")
    domain = ToyDomain()
    nodes = [TreeNode(p.id, None, 0, p.id, p.text) for p in domain.load_problem_set("toy_train")]
    result, _ = train_on_nodes(cfg, domain, nodes, model, tokenizer, tmp_path / "train", host=host)
    assert result.steps == 16
    log = [json.loads(line) for line in (tmp_path / "train" / "log.jsonl").read_text().splitlines()]
    rewards = [r["reward"] for r in log if r["reward"] is not None]
    assert len(rewards) == 16
    first, last = sum(rewards[:5]) / 5, sum(rewards[-5:]) / 5
    assert last > first + 0.15, f"reward did not rise: first {first:.3f}, last {last:.3f}"
