"""LADDER's test-time RL (the authors' protocol): adapt to each still-failed test problem on its variants only.

``loop.run_ttrl`` is the stage; ``weights`` snapshots and restores the policy
between problems; ``settings`` reads ``cfg.ttrl``.
"""

from ladder_core.ttrl.loop import run_ttrl
from ladder_core.ttrl.settings import TTRLSettings

__all__ = ["TTRLSettings", "run_ttrl"]
