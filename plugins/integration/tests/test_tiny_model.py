"""The shipped tiny calculus model: loads offline, speaks the compact format, solves unseen easy integrals.

The accuracy threshold is the one stated in ``MODEL_CARD.md`` (clearly below
the measured value, so CPU nondeterminism cannot make the test flaky).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ladder_integration.tinymodel import WEIGHTS_DIR
from ladder_integration.tinymodel import grammar
from ladder_integration.tinymodel.problem_sets import DATA_DIR, TEST_SET, TRAIN_SET, hard_term_sets, to_records

#: Greedy accuracy the shipped model must reach on the 40 held-out easy problems (see MODEL_CARD.md).
EASY_GREEDY_THRESHOLD = 0.70
N_EASY = 40

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
def tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(WEIGHTS_DIR, local_files_only=True)


@pytest.fixture(scope="module")
def model():
    import torch
    from transformers import AutoModelForCausalLM

    torch.set_num_threads(1)
    m = AutoModelForCausalLM.from_pretrained(WEIGHTS_DIR, local_files_only=True)
    m.eval()
    return m


@pytest.fixture(scope="module")
def verifier():
    from ladder_integration.verify import IntegrationVerifier, VerifierConfig

    v = IntegrationVerifier(VerifierConfig())
    yield v
    v.close()


def test_weights_dir_holds_a_complete_model():
    names = {p.name for p in WEIGHTS_DIR.iterdir()}
    for required in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                     "generation_config.json", "MODEL_CARD.md"):
        assert required in names, f"{required} missing from {WEIGHTS_DIR}"
    config = json.loads((WEIGHTS_DIR / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"]
    assert config["tie_word_embeddings"] is True


def test_model_is_small_llama(model, tokenizer):
    from transformers import LlamaForCausalLM

    assert isinstance(model, LlamaForCausalLM)
    n = sum(p.numel() for p in model.parameters())
    assert 2_000_000 < n < 6_000_000
    assert model.config.vocab_size == len(tokenizer)
    assert model.config.eos_token_id == tokenizer.eos_token_id


def test_prompt_tokenization_adds_nothing(tokenizer):
    """A trainer calling ``tokenizer(prompt)`` gets exactly the ids training saw: no BOS, no EOS."""
    prompt = grammar.prompt_for("integrate(3*x**2 + sin(2*x), x)")
    with_default = tokenizer(prompt)["input_ids"]
    assert with_default == tokenizer(prompt, add_special_tokens=False)["input_ids"]
    assert tokenizer.bos_token_id not in with_default and tokenizer.eos_token_id not in with_default
    assert tokenizer.decode(with_default) == prompt
    assert tokenizer.pad_token is not None and tokenizer.padding_side == "left"
    tags = tokenizer("<ANSWER>x</ANSWER>", add_special_tokens=False)["input_ids"]
    assert len(tags) == 3, "answer tags are single tokens"
    assert tokenizer.decode(tags + [tokenizer.eos_token_id], skip_special_tokens=True) == "<ANSWER>x</ANSWER>"


def test_model_card_states_the_tested_threshold():
    card = (WEIGHTS_DIR / "MODEL_CARD.md").read_text()
    found = re.search(r"test threshold[^0-9]*([0-9.]+)\s*%", card, re.IGNORECASE)
    assert found, "MODEL_CARD.md must state the test threshold"
    assert float(found.group(1)) / 100 == pytest.approx(EASY_GREEDY_THRESHOLD)


def test_heldout_easy_sample_is_deterministic_and_out_of_pretraining():
    sets = grammar.heldout_easy_term_sets(N_EASY)
    assert sets == grammar.heldout_easy_term_sets(N_EASY)
    assert len({grammar.term_key(t) for t in sets}) == N_EASY
    assert all(grammar.is_pretraining_integrand(t) for t in sets)


def test_greedy_accuracy_on_heldout_easy_problems(model, tokenizer, verifier):
    from ladder_integration.tinymodel.evaluate import generate

    table = grammar.AntiderivativeTable(timeout_s=10)
    examples = grammar.build_examples(grammar.heldout_easy_term_sets(N_EASY), table)
    # The verifier accepts every SymPy reference and rejects a wrong answer: the check below can fail.
    refs = verifier.check_batch([(e.problem, e.completion) for e in examples])
    assert all(v.correct for v in refs), [v.reason for v in refs if not v.correct]
    assert not verifier.check(examples[0].problem, grammar.completion_for(f"2*({examples[0].antiderivative})")).correct

    completions = [c[0] for c in generate(model, tokenizer, [e.prompt for e in examples])]
    verdicts = verifier.check_batch([(e.problem, c) for e, c in zip(examples, completions)])
    accuracy = sum(v.correct for v in verdicts) / len(verdicts)
    wrong = [(e.problem, c) for e, c, v in zip(examples, completions, verdicts) if not v.correct]
    assert accuracy >= EASY_GREEDY_THRESHOLD, f"greedy accuracy {accuracy:.2f}; wrong: {wrong[:5]}"


def test_shipped_hard_sets_match_the_generator():
    train, test = hard_term_sets()
    for name, sets in ((TRAIN_SET, train), (TEST_SET, test)):
        path = DATA_DIR / f"{name}.jsonl"
        shipped = [json.loads(line) for line in path.read_text().splitlines()]
        expected = to_records(name, [grammar.build_example(t, None) for t in sets])
        assert shipped == expected
    assert len(train) == 16 and len(test) == 100
    assert not {grammar.term_key(t) for t in train} & {grammar.term_key(t) for t in test}
    # Every hard problem has a product that pre-training never showed.
    assert all(any(b.held_out for _, b in t) for t in train + test)
    assert not any(b.held_out for b in grammar.easy_base_terms())


def test_exposure_stage_shows_the_families_but_never_a_hard_problem():
    from ladder_integration.tinymodel.train import TrainConfig, exposure_term_sets

    cfg = TrainConfig(out=Path("unused"), exposure_n=3000)
    sets = exposure_term_sets(cfg)
    assert len(sets) == 3000
    terms = [b for t in sets for _, b in t]
    share = sum(b.held_out for b in terms) / len(terms)
    assert 0.12 < share < 0.20, share  # exposure_share 0.25 of the draws, kept only in 3-term sums
    assert {b.rung for b in terms if b.held_out} == {3, 4}
    train, test = hard_term_sets()
    assert not {grammar.term_key(t) for t in sets} & {grammar.term_key(t) for t in train + test}
    # Stage 1's mix is unchanged by the exposure option: the default weights draw no held-out product.
    assert grammar.sample_easy_term_sets(500, 3) == grammar.sample_easy_term_sets(500, 3, weights=grammar.EASY_WEIGHTS)
    assert all(grammar.is_pretraining_integrand(t) for t in grammar.sample_easy_term_sets(2000, 3))


def test_exposure_keeps_held_out_products_inside_three_term_sums():
    """The shipped recipe (``exposure_held_out_min_terms=3``): no integrand of a hard problem's shape (one
    held-out product, at most one more term) is ever a training integrand, whatever problems someone draws
    later. With 1 (the recipe of the weights before session 16) they also appear in that shape."""
    from ladder_integration.tinymodel.train import TrainConfig, exposure_term_sets

    sets = exposure_term_sets(TrainConfig(out=Path("unused"), exposure_n=3000))
    with_hard = [t for t in sets if not grammar.is_pretraining_integrand(t)]
    assert len(sets) == 3000 and len(with_hard) > 600
    assert all(len(t) == 3 for t in with_hard)
    assert any(len(t) < 3 for t in sets)  # the easy integrands keep their 1-3 terms
    assert {b for t in with_hard for _, b in t if b.held_out} == set(grammar.held_out_base_terms())
    loose = exposure_term_sets(TrainConfig(out=Path("unused"), exposure_n=3000, exposure_held_out_min_terms=1))
    assert any(len(t) < 3 for t in loose if not grammar.is_pretraining_integrand(t))


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_training_command_runs_both_stages_and_saves_a_loadable_model(tmp_path, precision):
    """The one-command recipe, shrunk: stage 1, the exposure stage, save, reload with from_pretrained."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ladder_integration.tinymodel.train import main

    out = tmp_path / "tiny"
    main(["--out", str(out), "--n-easy", "300", "--steps", "3", "--warmup", "1", "--batch-size", "8",
          "--hidden", "32", "--layers", "1", "--heads", "2", "--intermediate", "64", "--data-workers", "1",
          "--exposure-steps", "2", "--exposure-n", "100", "--exposure-warmup", "1", "--threads", "1", "--no-eval",
          "--precision", precision])
    summary = json.loads((out / "training_summary.json").read_text())
    assert summary["n_train_examples"] == 300 and len(summary["log"]) == 1
    assert summary["exposure"]["examples"] == 100 and summary["exposure"]["held_out_terms"] > 0
    model = AutoModelForCausalLM.from_pretrained(out)
    tokenizer = AutoTokenizer.from_pretrained(out)
    assert model.config.num_hidden_layers == 1
    assert tokenizer("integrate(x, x)\n")["input_ids"]


def test_training_command_refuses_an_unknown_precision(tmp_path, capsys):
    from ladder_integration.tinymodel.train import TrainConfig, main

    with pytest.raises(SystemExit):
        main(["--out", str(tmp_path), "--precision", "fp16"])
    assert "--precision must be bf16 or fp32" in capsys.readouterr().err
    with pytest.raises(ValueError, match="precision"):
        TrainConfig(out=tmp_path, precision="int8")
