"""Generate answers with the tiny model and score them (greedy accuracy, pass@k).

Scoring uses the project's verifier (``ladder_integration.verify``) when it
is installed: a numeric check of the answer's derivative, no reference
needed. Without it, the fallback is an exact string match of the answer
against the grammar's reference antiderivative; it never parses model text,
so it is safe, and it is a lower bound (an equivalent but differently
written answer counts as wrong).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ladder_integration.tinymodel.grammar import Example, prompt_for

_ANSWER_RE = re.compile(r"<ANSWER>(.*?)</ANSWER>", re.IGNORECASE | re.DOTALL)


def extract_answer(completion: str) -> str | None:
    """Text inside the last ``<ANSWER>...</ANSWER>``, or ``None``."""
    found = _ANSWER_RE.findall(completion)
    return found[-1].strip() if found else None


class AnswerChecker:
    """Checks (problem, completion) pairs; ``method`` says which check is in use."""

    def __init__(self, use_verifier: bool = True) -> None:
        self._verifier = None
        self.method = "exact-match"
        if use_verifier:
            try:
                from ladder_integration.verify import IntegrationVerifier, VerifierConfig
            except ImportError:
                pass
            else:
                self._verifier = IntegrationVerifier(VerifierConfig())
                self.method = "verifier"

    def check(self, examples: Sequence[Example], completions: Sequence[str]) -> list[bool]:
        if self._verifier is not None:
            verdicts = self._verifier.check_batch([(e.problem, c) for e, c in zip(examples, completions)])
            return [bool(v.correct) for v in verdicts]
        out = []
        for e, c in zip(examples, completions):
            if not e.antiderivative:
                raise ValueError("exact-match checking needs reference antiderivatives")
            out.append(extract_answer(c) == e.antiderivative)
        return out

    def close(self) -> None:
        close = getattr(self._verifier, "close", None)
        if callable(close):
            close()


def generate(model, tokenizer, prompts: Sequence[str], *, samples: int = 1, temperature: float | None = None,
             max_new_tokens: int = 96, batch_size: int = 64) -> list[list[str]]:
    """``samples`` completions per prompt: greedy when ``temperature`` is None, else pure sampling (no top-k/top-p)."""
    import torch

    tokenizer.padding_side = "left"
    out: list[list[str]] = []
    model.eval()
    per_batch = max(1, batch_size // samples)
    with torch.no_grad():
        for start in range(0, len(prompts), per_batch):
            chunk = list(prompts[start:start + per_batch])
            enc = tokenizer(chunk, return_tensors="pt", padding=True)
            kwargs = dict(max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                          eos_token_id=tokenizer.eos_token_id)
            if temperature is None:
                kwargs.update(do_sample=False)
            else:
                kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0,
                              num_return_sequences=samples)
            gen = model.generate(**enc, **kwargs)
            texts = tokenizer.batch_decode(gen[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
            n = 1 if temperature is None else samples
            out.extend(texts[i * n:(i + 1) * n] for i in range(len(chunk)))
    return out


@dataclass(frozen=True)
class SetScore:
    """Scores of one set: greedy accuracy, pass@k, and the share of k-sample groups with mixed outcomes."""

    n: int
    greedy: float | None = None
    pass_at_k: float | None = None
    mixed_groups: float | None = None
    mean_sample_accuracy: float | None = None
    k: int = 0

    def to_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def score_set(model, tokenizer, examples: Sequence[Example], checker: AnswerChecker, *, k: int = 0,
              temperature: float = 1.0, greedy: bool = True) -> SetScore:
    """Greedy accuracy and (when ``k > 0``) pass@k at ``temperature`` over ``examples``."""
    prompts = [prompt_for(e.problem) for e in examples]
    g = pk = mixed = mean = None
    if greedy:
        comps = [c[0] for c in generate(model, tokenizer, prompts)]
        ok = checker.check(examples, comps)
        g = sum(ok) / len(ok)
    if k > 0:
        groups = generate(model, tokenizer, prompts, samples=k, temperature=temperature)
        flat_e = [e for e, grp in zip(examples, groups) for _ in grp]
        flat_c = [c for grp in groups for c in grp]
        ok = checker.check(flat_e, flat_c)
        per = [ok[i * k:(i + 1) * k] for i in range(len(examples))]
        pk = sum(any(p) for p in per) / len(per)
        mixed = sum(any(p) and not all(p) for p in per) / len(per)
        mean = sum(ok) / len(ok)
    return SetScore(n=len(examples), greedy=g, pass_at_k=pk, mixed_groups=mixed, mean_sample_accuracy=mean, k=k)
