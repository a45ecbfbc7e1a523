"""GRPO training on variant trees, through TRL's GRPOTrainer (subclassed, not forked)."""
