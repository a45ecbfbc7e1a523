"""The greedy anchor (``trainer.anchor_weight``): what enters the anchor set, that its loss trains, resume, off."""

import json

import pytest
import torch
from ladder_core.artifacts import AnchorExample, TrainSummary, read_jsonl, write_jsonl
from ladder_core.config_nodes import ConfigError
from ladder_core.schema import check_config
from ladder_core.records import TreeNode, Verdict, VerdictStatus
from ladder_core.testing.compose import compose_config
from ladder_core.testing.toy_domain import ToyDomain
from ladder_core.training.anchor import ANCHOR_FILE, GreedyAnchor, build_anchor
from ladder_core.training.run import train_on_nodes


class EvenProblemsDomain(ToyDomain):
    """Accepts any answer to the problems with an even number (a random model answers nothing right)."""

    def verify(self, problem, completion):
        return Verdict(VerdictStatus.CORRECT if int(problem.id[-1]) % 2 == 0 else VerdictStatus.INCORRECT)


def _cfg(host, tmp_path, model_dir, *overrides):
    return compose_config(host, [
        "+domain=toy", f"model.name_or_path={model_dir}", "trainer.prompts_per_step=2", "trainer.num_generations=4",
        "trainer.learning_rate=1e-2", "trainer.beta=0.0", "trainer.report_to=[]", "trainer.save_steps=1000",
        "+trainer.extra.lr_scheduler_type=constant", "model.max_completion_length=8",
        "curriculum.dynamic_sampling=false", *overrides], run_dir=tmp_path)


def _greedy_texts(model, tokenizer, trainer_prompt_ids):
    out = {}
    with torch.no_grad():
        for node_id, ids in trainer_prompt_ids.items():
            gen = model.generate(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                                 do_sample=False, max_new_tokens=8, pad_token_id=tokenizer.pad_token_id,
                                 eos_token_id=tokenizer.eos_token_id, temperature=None, top_p=None, top_k=None)
            out[node_id] = tokenizer.decode(gen[0, len(ids):], skip_special_tokens=True)
    return out


def test_the_anchor_holds_the_verified_greedy_answers_and_its_loss_trains(tmp_path, host, model_dir):
    from ladder_core.models import load_policy

    cfg = _cfg(host, tmp_path, model_dir, "trainer.max_steps=6", "trainer.anchor_weight=20",
               "trainer.anchor_batch=4")
    model, tokenizer = load_policy(cfg.model, device="cpu")
    base = load_policy(cfg.model, device="cpu")[0]
    domain = EvenProblemsDomain()
    nodes = [TreeNode(p.id, None, 0, p.id, p.text) for p in domain.load_problem_set("toy_train")]
    result, trainer = train_on_nodes(cfg, domain, nodes, model, tokenizer, tmp_path / "train", host=host)

    anchor = read_jsonl(tmp_path / "train" / ANCHOR_FILE, AnchorExample)
    greedy = _greedy_texts(base, tokenizer, trainer.ladder_anchor.prompt_ids)
    expected = {i for i in greedy if int(i[-1]) % 2 == 0}
    assert 0 < len(expected) < len(nodes)  # the check below can fail both ways
    assert {e.node_id for e in anchor} == expected
    assert all(e.completion == greedy[e.node_id] for e in anchor)
    assert result.anchor_examples == len(anchor) == len(trainer.ladder_anchor)

    log = [json.loads(line) for line in (tmp_path / "train" / "log.jsonl").read_text().splitlines()]
    nll = [r["anchor_nll"] for r in log]
    assert len(nll) == 6 and all(v is not None for v in nll)
    # the anchor's term is in the gradient: its NLL falls (a weight of 20 dominates the GRPO term)
    examples = trainer.ladder_anchor.examples
    before = trainer.ladder_anchor.nll(base, examples, tokenizer.pad_token_id).item()
    after = trainer.ladder_anchor.nll(trainer.model, examples, tokenizer.pad_token_id).item()
    assert after < 0.5 * before


def test_a_resumed_run_reads_the_anchor_it_wrote_and_a_fresh_one_answers_again(tmp_path, host, model_dir):
    from ladder_core.models import load_policy

    cfg = _cfg(host, tmp_path, model_dir, "trainer.max_steps=1", "trainer.anchor_weight=1")
    model, tokenizer = load_policy(cfg.model, device="cpu")
    domain = EvenProblemsDomain()
    nodes = [TreeNode(p.id, None, 0, p.id, p.text) for p in domain.load_problem_set("toy_train")]
    _, trainer = train_on_nodes(cfg, domain, nodes, model, tokenizer, tmp_path / "train", host=host)
    path = tmp_path / "train" / ANCHOR_FILE
    first = read_jsonl(path, AnchorExample)
    assert len(first) >= 2
    write_jsonl(path, first[:1])  # what an earlier attempt wrote is what the resumed one uses
    again = build_anchor(trainer, domain, nodes, path, weight=1.0, batch=4, seed=0)
    assert [e.node_id for e in again.examples] == [first[0].node_id]
    summary, _ = train_on_nodes(cfg, domain, nodes, model, tokenizer, tmp_path / "train", host=host, resume=False)
    assert summary.anchor_examples == len(read_jsonl(path, AnchorExample)) >= 2  # resume=False: answered again


def test_with_the_anchor_off_nothing_is_answered_or_logged(tmp_path, host, model_dir):
    from ladder_core.models import load_policy

    cfg = _cfg(host, tmp_path, model_dir, "trainer.max_steps=1")
    assert float(cfg.trainer.anchor_weight) == 0.0  # off by default (the paper's GRPO has no such term)
    model, tokenizer = load_policy(cfg.model, device="cpu")
    domain = EvenProblemsDomain()
    nodes = [TreeNode(p.id, None, 0, p.id, p.text) for p in domain.load_problem_set("toy_train")]
    result, trainer = train_on_nodes(cfg, domain, nodes, model, tokenizer, tmp_path / "train", host=host)
    assert trainer.ladder_anchor is None and result.anchor_examples == 0
    assert not (tmp_path / "train" / ANCHOR_FILE).exists()
    assert json.loads((tmp_path / "train" / "log.jsonl").read_text().splitlines()[0])["anchor_nll"] is None


def test_draws_are_reproducible_bounded_and_without_repeats():
    examples = [AnchorExample(node_id=f"n{i}", completion="x", completion_ids=[1]) for i in range(10)]
    anchor = GreedyAnchor(examples, {}, weight=1.0, batch=4, seed=3)
    a, b = anchor.draw("5:1:0"), anchor.draw("5:1:0")
    assert a == b and len(a) == 4 and len({e.node_id for e in a}) == 4
    assert any(anchor.draw(f"{s}:1:0") != a for s in range(6, 12))
    assert len(GreedyAnchor(examples[:2], {}, weight=1.0, batch=4, seed=3).draw("k")) == 2
    assert GreedyAnchor([], {}, weight=1.0, batch=4, seed=3).draw("k") == []


def test_the_anchor_nll_is_the_mean_over_completion_tokens_only(model_dir):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(model_dir)
    prompts = {"a": [5, 6, 7], "b": [8, 9]}
    examples = [AnchorExample(node_id="a", completion="", completion_ids=[10, 11]),
                AnchorExample(node_id="b", completion="", completion_ids=[12, 13, 14])]
    got = GreedyAnchor(examples, prompts, weight=1.0, batch=2, seed=0).nll(model, examples, pad_id=0).item()
    total, count = 0.0, 0
    for e in examples:
        ids = torch.tensor([prompts[e.node_id] + e.completion_ids])
        logps = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), -1)
        for pos in range(len(prompts[e.node_id]) - 1, ids.shape[1] - 1):
            total -= logps[pos, ids[0, pos + 1]].item()
            count += 1
    assert got == pytest.approx(total / count, rel=1e-4)


def test_a_negative_anchor_weight_is_refused_naming_the_key(tmp_path, host, model_dir):
    with pytest.raises(ConfigError, match="trainer.anchor_weight"):
        check_config(_cfg(host, tmp_path, model_dir, "trainer.anchor_weight=-1"))


def test_the_summary_record_reads_files_written_before_the_anchor_existed():
    from ladder_core.artifacts import from_dict

    old = {"steps": 1, "seconds": 1.0, "reward_first": None, "reward_last": None, "dynamic_sampling": {},
           "reward_failures": {}, "reward_checks": 0, "final_depth_success": {}}
    assert from_dict(TrainSummary, old).anchor_examples == 0
