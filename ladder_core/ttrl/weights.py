"""The policy's weights before test-time RL, and putting them back bit for bit after each problem."""

from __future__ import annotations

from typing import Any


class WeightSnapshot:
    """A CPU copy of a model's ``state_dict`` taken before any adapter is attached.

    ``restore(policy)`` accepts what training returned: the same model (full
    fine-tuning) or a peft wrapper around it (LoRA), whose adapter layers are
    removed (``unload``, not merged) before the saved tensors are copied back.
    """

    def __init__(self, model: Any) -> None:
        self._state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def restore(self, policy: Any) -> Any:
        """The plain model with the snapshot's weights (same object as before training where possible)."""
        model = policy.unload() if hasattr(policy, "unload") else policy
        model.load_state_dict(self._state)
        return model

    def equals(self, model: Any) -> bool:
        """Whether ``model``'s weights are bit-identical to the snapshot (names and values)."""
        import torch

        state = model.state_dict()
        if set(state) != set(self._state):
            return False
        return all(torch.equal(state[k].detach().cpu(), v) for k, v in self._state.items())


def plain_model(policy: Any) -> Any:
    """The policy to continue from without a reset: LoRA adapters merged into the weights."""
    return policy.merge_and_unload() if hasattr(policy, "merge_and_unload") else policy
