"""LADDER's test-time RL (the authors' protocol): adapt to each still-failed test problem on its variants only.

``loop.run_ttrl`` is the stage; ``weights`` snapshots and restores the policy
between problems; the settings are ``cfg.ttrl`` (:class:`ladder_core.schema.TTRLConfig`).
"""

from ladder_core.ttrl.loop import run_ttrl
__all__ = ["run_ttrl"]
