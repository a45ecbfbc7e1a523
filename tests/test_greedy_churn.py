"""benchmarks/greedy_churn.py: the control models move each weight tensor by exactly the training update's norm."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM

from benchmark_modules import load_benchmark


def _churn():
    return load_benchmark("greedy_churn")


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32).state_dict()


def test_controls_match_the_update_norm_per_tensor_and_reversed_is_the_mirror(tmp_path, model_dir):
    churn = _churn()
    trained = tmp_path / "trained"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    with torch.no_grad():
        for i, p in enumerate(model.parameters()):
            if i % 2 == 0:  # half the tensors move, the others stay: their controls must stay too
                p.add_(torch.full_like(p, 0.01 * (i + 1)))
    model.save_pretrained(trained)
    base, moved = _weights(model_dir), _weights(trained)
    random0 = _weights(churn.perturbed(model_dir, trained, tmp_path / "r0", kind="random", seed=0))
    random1 = _weights(churn.perturbed(model_dir, trained, tmp_path / "r1", kind="random", seed=1))
    mirror = _weights(churn.perturbed(model_dir, trained, tmp_path / "rev", kind="reversed"))
    half = _weights(churn.perturbed(model_dir, trained, tmp_path / "half", kind="scaled", scale=0.5))
    assert (tmp_path / "r0" / "tokenizer.json").exists() or any((tmp_path / "r0").glob("tokenizer*"))
    moved_any = False
    for name, b in base.items():
        delta = moved[name] - b
        assert torch.allclose((random0[name] - b).norm(), delta.norm(), rtol=1e-3, atol=1e-6), name
        assert torch.allclose(mirror[name], b - delta, atol=1e-6), name
        assert torch.allclose(half[name], b + delta / 2, atol=1e-6), name  # tied weights moved once, not twice
        if delta.norm() > 0:
            moved_any = True
            cos = torch.nn.functional.cosine_similarity((random0[name] - b).flatten(), delta.flatten(), dim=0)
            assert abs(float(cos)) < 0.5, f"{name}: a random direction should not follow the update"
            assert not torch.allclose(random0[name], random1[name]), "seeds must give different directions"
    assert moved_any


def test_a_test_file_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="held-out"):
        _churn().main([str(tmp_path), "--problems", str(tmp_path / "heldout_tiny_products.jsonl")])
