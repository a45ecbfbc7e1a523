"""Turning a domain's prompt text into what a model sees (plain text or a chat turn).

Instruction models get the domain's ``instruct`` prompt as a user message in
their chat template (TRL's "conversational" format); the embedded tiny model
was trained on the domain's ``compact`` notation and gets raw text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ladder_core.domain import Domain
from ladder_core.records import Problem


@dataclass(frozen=True)
class PromptFormat:
    """How prompts are rendered for one model."""

    style: str  # the domain's prompt style: "instruct" or "compact"
    chat: bool  # wrap in the tokenizer's chat template

    @classmethod
    def from_config(cls, cfg: Any) -> PromptFormat:
        chat = bool(cfg.model.get("chat_template", False))
        style = str(cfg.domain.get("prompt_style", "auto")) if "domain" in cfg else "auto"
        if style == "auto":
            style = "instruct" if chat else "compact"
        return cls(style=style, chat=chat)

    def trl_prompt(self, domain: Domain, problem: Problem) -> Any:
        """The ``prompt`` column for TRL: a string, or a one-turn conversation."""
        text = domain.solve_prompt(problem, style=self.style)
        return [{"role": "user", "content": text}] if self.chat else text

    def text(self, domain: Domain, problem: Problem) -> str:
        """The domain's prompt text (a text generator applies the chat template when ``chat``)."""
        return domain.solve_prompt(problem, style=self.style)
