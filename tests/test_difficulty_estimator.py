"""Beta posterior math, decay and forgetting of the per-node success estimator."""

import json
import math

import pytest

from ladder_core.difficulty import BetaEstimate, CurriculumConfig, SuccessEstimator


def test_unseen_node_answers_with_the_prior():
    est = SuccessEstimator(prior_alpha=2.0, prior_beta=3.0)
    e = est.estimate("x")
    assert (e.alpha, e.beta, e.trials) == (2.0, 3.0, 0.0)
    assert est.mean("x") == pytest.approx(0.4)
    assert not est.seen("x") and est.updates("x") == 0


def test_posterior_is_prior_plus_counts_without_decay():
    est = SuccessEstimator(1.0, 1.0, decay=1.0)
    est.update("n", 3, 8)
    est.update("n", 5, 8)
    e = est.estimate("n")
    assert (e.alpha, e.beta) == (1.0 + 8, 1.0 + 8)
    assert e.mean == pytest.approx(0.5)
    assert e.trials == 16 and est.updates("n") == 2
    # Beta variance a b / ((a+b)^2 (a+b+1))
    assert e.variance == pytest.approx(9 * 9 / (18 ** 2 * 19))


def test_decay_is_per_trial_and_discounts_only_old_evidence():
    est = SuccessEstimator(1.0, 1.0, decay=0.9)
    est.update("n", 0, 4)  # 0 / 4
    est.update("n", 4, 4)  # old evidence scaled by 0.9 ** 4 first
    keep = 0.9 ** 4
    e = est.estimate("n")
    assert e.alpha == pytest.approx(1 + 4)
    assert e.beta == pytest.approx(1 + 4 * keep)
    assert e.mean > 0.5  # recent successes weigh more than older failures


def test_decay_caps_the_weight_of_evidence():
    est = SuccessEstimator(1.0, 1.0, decay=0.98)
    for _ in range(500):
        est.update("n", 4, 8)
    limit = 8 / (1 - 0.98 ** 8)  # geometric series of groups of 8
    assert est.trials("n") == pytest.approx(limit, rel=1e-6)
    assert est.trials("n") < 60
    assert est.mean("n") == pytest.approx(0.5)


def test_decay_tracks_a_change_in_success_rate():
    slow = SuccessEstimator(1, 1, decay=1.0)
    fast = SuccessEstimator(1, 1, decay=0.9)
    for _ in range(20):
        slow.update("n", 0, 8)
        fast.update("n", 0, 8)
    for _ in range(3):
        slow.update("n", 8, 8)
        fast.update("n", 8, 8)
    assert fast.mean("n") > 0.8 > 0.3 > slow.mean("n")


def test_zero_trials_is_a_no_op_and_bad_counts_raise():
    est = SuccessEstimator()
    est.update("n", 0, 0)
    assert not est.seen("n")
    for s, t in ((3, 2), (-1, 2), (0, -1)):
        with pytest.raises(ValueError):
            est.update("n", s, t)
    with pytest.raises(TypeError):
        est.update("n", 1.5, 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SuccessEstimator(prior_alpha=0.0)
    with pytest.raises(ValueError):
        SuccessEstimator(decay=1.5)


def test_forget_shrinks_evidence_but_keeps_the_mean_of_the_data():
    est = SuccessEstimator(1, 1, decay=1.0)
    est.update("n", 2, 40)
    est.forget("n", 4)
    e = est.estimate("n")
    assert e.trials == pytest.approx(4)
    assert (e.alpha - 1) / e.trials == pytest.approx(2 / 40)
    est.forget("n", 100)  # never grows
    assert est.trials("n") == pytest.approx(4)
    est.forget("unknown", 1)  # harmless
    assert not est.seen("unknown")


def test_state_dict_round_trip_through_json():
    est = SuccessEstimator(1, 2, decay=0.95)
    est.update("a", 3, 5)
    est.update("b", 0, 5)
    est.update("a", 1, 5)
    state = json.loads(json.dumps(est.state_dict()))
    other = SuccessEstimator(1, 2, decay=0.95)
    other.load_state_dict(state)
    for node in ("a", "b", "c"):
        assert other.estimate(node) == est.estimate(node)
    assert other.updates("a") == 2
    with pytest.raises(ValueError):
        other.load_state_dict({"evidence": {"a": [1.0, -2.0, 1]}})


def test_beta_estimate_mean_matches_definition():
    e = BetaEstimate(3.0, 1.0, 2.0)
    assert e.mean == 0.75
    assert math.isclose(e.variance, 3 / (16 * 5))


def test_config_from_dict_and_cfg():
    cfg = CurriculumConfig.from_dict({"mode": "uniform", "decay": 1, "band_low": 0.3})
    assert cfg.mode == "uniform" and cfg.decay == 1.0 and isinstance(cfg.decay, float)
    with pytest.raises(ValueError, match="unknown curriculum option"):
        CurriculumConfig.from_dict({"bandlow": 0.3})
    with pytest.raises(ValueError):
        CurriculumConfig.from_dict({"mode": "random"})
    with pytest.raises(ValueError):
        CurriculumConfig.from_dict({"band_low": 0.9, "band_high": 0.5})
    with pytest.raises(ValueError):
        CurriculumConfig.from_dict({"mastered_weight": 0.0})
    with pytest.raises(TypeError, match="dynamic_sampling"):
        CurriculumConfig.from_dict({"dynamic_sampling": "yes"})
    with pytest.raises(TypeError, match="min_trials"):
        CurriculumConfig.from_dict({"min_trials": 2.5})
    assert CurriculumConfig.from_dict({"replacement_budget": 3.0}).replacement_budget == 3
    from omegaconf import OmegaConf

    full = OmegaConf.create({"seed": 1, "curriculum": {"mode": "roots_only", "replacement_budget": 0}})
    assert CurriculumConfig.from_cfg(full).mode == "roots_only"
    assert CurriculumConfig.from_cfg(full.curriculum).replacement_budget == 0


def test_curriculum_defaults_are_written_once():
    """The schema's curriculum section is this dataclass; no YAML repeats its defaults."""
    from pathlib import Path

    from omegaconf import OmegaConf

    from ladder_core.schema import SECTIONS

    assert SECTIONS["curriculum"] is CurriculumConfig
    conf = Path(__file__).resolve().parents[1] / "conf"
    assert "curriculum" not in OmegaConf.load(conf / "config.yaml")
    for path in conf.glob("*/*.yaml"):
        section = OmegaConf.load(path).get("curriculum") or {}
        assert all(section[k] != getattr(CurriculumConfig(), k) for k in section), f"{path} repeats a default"
