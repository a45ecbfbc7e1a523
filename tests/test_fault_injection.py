"""Nothing a plugin can do stops a run: the fault-injecting plugin against the real pipeline and TRL.

The plugin (:mod:`ladder_core.testing.faulty_domain`) raises, hangs, returns
wrong types and lengths, NaN/None rewards, and raising observers; it tallies
what it injected, and the core's counters must match it exactly.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from ladder_core.cli import run
from ladder_core.deadlines import PluginDeadlines, call_with_deadline
from ladder_core.plugins import PluginHost, create_plugin_manager
from ladder_core.records import Problem, Verdict, VerdictStatus
from ladder_core.testing.compose import compose_config
from ladder_core.testing.toy_domain import ToyDomain
from ladder_core.training.rewards import DomainReward, RewardFaults

FAST = PluginDeadlines(verify_batch_s=5, verify_s=0.5, reward_s=2, observer_s=1)


def test_training_survives_every_fault_and_counts_each_once(tmp_path, model_dir, ladder_faulty_plugin):
    plugin = ladder_faulty_plugin
    host = PluginHost(create_plugin_manager(autoload=False, extra_plugins=[plugin]))
    cfg = compose_config(host, [
        "+domain=faulty", "pipeline.stages=[variants,train,report]", "trainer.max_steps=4",
        "trainer.prompts_per_step=2", "trainer.num_generations=4", "trainer.report_to=[]", "trainer.save_steps=2",
        "model.max_completion_length=8", f"model.name_or_path={model_dir}", "variants.per_root=6",
        "variants.max_depth=2", "variants.children_per_node=3", "variants.generators=[faulty-rules]",
        "reward.extra=[faulty_reward]", "domain.hang_s=20", "plugin_deadlines.verify_s=0.5",
        "plugin_deadlines.verify_batch_s=5", "plugin_deadlines.reward_s=2", "plugin_deadlines.observer_s=1",
    ], run_dir=tmp_path)
    start = time.monotonic()
    run(cfg, host)
    assert time.monotonic() - start < 120  # the 20 s hang cost one 0.5 s deadline
    injected = dict(plugin.INJECTED)
    log = [json.loads(x) for x in (tmp_path / "train" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3, 4]
    summary = json.loads((tmp_path / "train" / "summary.json").read_text())
    expected = {k: v for k, v in injected.items() if k.startswith(("verify.", "extra."))}
    # every kind was injected at least once, and each injected fault is one zeroed completion
    assert {"verify.raised", "verify.wrong_type", "verify.timeout", "extra.faulty_reward.nonfinite",
            "extra.faulty_reward.none", "extra.faulty_reward.wrong_type", "extra.faulty_reward.raised"} <= set(expected)
    assert injected["batch.raised"] >= 1 and injected["batch.wrong_length"] >= 1
    assert summary["reward_failures"] == expected
    per_step: dict[str, int] = {}
    for row in log:
        for kind, n in row["reward_faults"].items():
            per_step[kind] = per_step.get(kind, 0) + n
    assert per_step == expected  # log.jsonl, summary.json: one unit (completions)
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["training"]["reward_failures"] == expected
    faults = json.loads((tmp_path / "plugin_faults.json").read_text())["total"]
    name = plugin.__name__
    assert faults[f"observer.ladder_train_step_end.{name}.raised"] == injected["observer.ladder_train_step_end"] == 4
    assert faults[f"observer.ladder_tree_grew.{name}.raised"] == injected["observer.ladder_tree_grew"]
    assert faults["variants.validate.raised"] == injected["variants.validate.raised"] >= 1
    assert faults["variants.propose.faulty-rules.raised"] == 1
    assert json.loads((tmp_path / "variants" / "stats.json").read_text())


class _Hanging(ToyDomain):
    def verify_batch(self, problems, completions):
        time.sleep(30)

    def verify(self, problem, completion):
        if "hang" in completion:
            time.sleep(30)
        if "boom" in completion:
            raise SystemExit("a plugin calling sys.exit")
        if "type" in completion:
            return None
        return super().verify(problem, completion)


def _call(reward, texts):
    n = len(texts)
    return reward(["p"] * n, texts, problem_id=[f"q{i}" for i in range(n)], problem_text=["add(1, 2)"] * n)


def test_each_completion_gets_its_own_outcome_after_a_hung_batch():
    reward = DomainReward(_Hanging(), deadlines=FAST)
    start = time.monotonic()
    rewards = _call(reward, ["<ANSWER>3</ANSWER>", "hang", "boom", "type", "<ANSWER>4</ANSWER>", "x"])
    assert time.monotonic() - start < 8
    assert rewards == [1.05, 0.0, 0.0, 0.0, 0.05, 0.0]
    assert reward.faults.totals() == {"verify.raised": 1, "verify.timeout": 1, "verify.wrong_type": 1}
    assert reward.faults.batch_fallbacks == 1


def test_the_fallback_shares_one_deadline_so_many_hung_items_cost_one():
    reward = DomainReward(_Hanging(), deadlines=PluginDeadlines(verify_batch_s=1, verify_s=0.4))
    start = time.monotonic()
    rewards = _call(reward, ["hang"] * 20)
    assert time.monotonic() - start < 4
    assert rewards == [0.0] * 20 and reward.faults.totals() == {"verify.timeout": 20}


def test_domain_timeouts_are_wrong_answers_counted_as_check_failures():
    class Slow(ToyDomain):
        def verify_batch(self, problems, completions):
            return [Verdict(VerdictStatus.TIMEOUT, "slow"), Verdict(VerdictStatus.ERROR, "x"),
                    Verdict(VerdictStatus.CORRECT)]

    reward = DomainReward(Slow())
    assert _call(reward, ["<ANSWER>1</ANSWER>", "no", "<ANSWER>3</ANSWER>"]) == [0.05, 0.0, 1.05]
    assert reward.faults.totals() == {"check.error": 1, "check.timeout": 1}


def test_guarded_extra_reward_is_total_and_keeps_trl_names():
    faults = RewardFaults()
    calls = []

    def length_reward(prompts, completions, completion_ids=None, **kw):
        calls.append(len(completions))
        if len(completions) > 1:
            return [1.0]  # wrong length: per item instead
        if completions[0] == "nan":
            return [float("nan")]
        return [float(len(completions[0]))]

    guarded = DomainReward(ToyDomain(), deadlines=FAST, faults=faults).guard(length_reward)
    assert guarded.__name__ == "length_reward"
    out = guarded(["p"] * 3, ["ab", "nan", "abcd"], problem_id=["a", "b", "c"], trainer_state=None)
    assert out == [2.0, 0.0, 4.0] and all(math.isfinite(x) for x in out)
    assert faults.totals() == {"extra.length_reward.nonfinite": 1}
    assert calls == [3, 1, 1, 1]

    def hangs(prompts, completions, **kw):
        time.sleep(30)

    slow = DomainReward(ToyDomain(), deadlines=FAST, faults=faults).guard(hangs)
    start = time.monotonic()
    assert slow(["p"] * 2, ["a", "b"]) == [0.0, 0.0]
    assert time.monotonic() - start < 4
    assert faults.totals()["extra.hangs.timeout"] == 2


def test_async_extra_reward_runs_inside_the_guard():
    async def five(prompts, completions, **kw):
        return [5.0 for _ in completions]

    guarded = DomainReward(ToyDomain(), deadlines=FAST).guard(five)
    assert guarded(["p"], ["a"]) == [5.0]


def test_call_with_deadline_reports_each_outcome():
    assert call_with_deadline(lambda: 3, timeout_s=1).value == 3
    raised = call_with_deadline(lambda: 1 / 0, timeout_s=1)
    assert raised.status == "raised" and "ZeroDivisionError" in raised.error
    hung = call_with_deadline(time.sleep, 10, timeout_s=0.2, name="sleepy")
    assert hung.status == "timeout" and "sleepy" in hung.error and hung.seconds < 1


def test_bad_deadline_values_are_refused_naming_the_key():
    from omegaconf import OmegaConf

    with pytest.raises(ValueError, match="plugin_deadlines.verify_s"):
        PluginDeadlines.of(OmegaConf.create({"plugin_deadlines": {"verify_s": -1}}))
    with pytest.raises(ValueError, match="unknown plugin_deadlines config keys: verfy_s"):
        PluginDeadlines.of(OmegaConf.create({"plugin_deadlines": {"verfy_s": 1}}))


def test_a_raising_observer_is_logged_once_and_counted(caplog):
    from ladder_core.deadlines import FAULTS
    from ladder_core.artifacts import TrainStep
    from ladder_core.hookspecs import TrainStepInfo, hookimpl

    class Loud:
        @hookimpl
        def ladder_train_step_end(self, info):
            raise RuntimeError("observer bug")

    seen = []

    class Quiet:
        @hookimpl
        def ladder_train_step_end(self, info):
            seen.append(info.step)

    FAULTS.reset()
    pm = create_plugin_manager(autoload=False)
    pm.register(Loud(), name="loud")
    pm.register(Quiet(), name="quiet")
    host = PluginHost(pm)
    with caplog.at_level("WARNING"):
        for step in range(3):
            host.train_step_end(TrainStepInfo(stage="train", step=step, log=TrainStep(step=step), run_dir=Path(".")))
    assert seen == [0, 1, 2]  # the other plugin still hears every step
    assert FAULTS.as_dict() == {"observer.ladder_train_step_end.loud.raised": 3}
    assert sum("'loud'" in r.getMessage() for r in caplog.records) == 1


def test_plugins_named_in_the_environment_are_registered(monkeypatch):
    from ladder_core.plugins import PluginError

    monkeypatch.setenv("LADDER_PLUGINS", "ladder_core.testing.faulty_domain")
    host = PluginHost(create_plugin_manager(autoload=False))
    assert "faulty" in host.domains() and "faulty_reward" in host.reward_functions()
    monkeypatch.setenv("LADDER_PLUGINS", "no_such_module_xyz")
    with pytest.raises(PluginError, match="no_such_module_xyz"):
        create_plugin_manager(autoload=False)


def test_evaluation_verdicts_turn_plugin_failures_into_errors():
    from ladder_core.training.rewards import checked_verdicts

    verdicts = checked_verdicts(_Hanging(), [Problem("q", "add(1, 2)")] * 3, ["<ANSWER>3</ANSWER>", "boom", "type"],
                                FAST)
    assert [v.status for v in verdicts] == [VerdictStatus.CORRECT, VerdictStatus.ERROR, VerdictStatus.ERROR]
    assert "verify.raised 1" in verdicts[1].reason and not verdicts[1].correct
