"""A toy domain (adding integers) that exercises the core without any real plugin.

Problems are ``add(3, 4, 5)``; the answer is the sum in ``<ANSWER>`` tags. An
easier variant drops a number or shrinks one. It is deliberately trivial to
verify, so core tests of trees, samplers and the pipeline test the core.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ladder_core.domain import Domain, DomainContext
from ladder_core.records import (
    Problem,
    ProblemSetInfo,
    TransformationMenu,
    ValidatedVariant,
    VariantProposal,
    VariantRejection,
    Verdict,
    VerdictStatus,
)

_PROBLEM = re.compile(r"^add\((\s*\d{1,6}\s*(?:,\s*\d{1,6}\s*){0,9})\)$")
_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_VARIANT_LINE = re.compile(r"add\([\d,\s]{1,80}\)")


@dataclass
class ToyConfig:
    name: str = "toy"
    train_set: str = "toy_train"
    test_set: str = "toy_test"
    validation_set: str = "toy_valid"


def parse_numbers(text: str) -> list[int] | None:
    match = _PROBLEM.match(text.strip())
    if not match:
        return None
    return [int(n) for n in match.group(1).split(",")]


def make_problems(prefix: str, count: int, seed: int, size: int = 4) -> list[Problem]:
    rng = random.Random(seed)
    problems = []
    for i in range(count):
        numbers = [rng.randint(10, 99) for _ in range(size)]
        problems.append(Problem(id=f"{prefix}/{i:03d}", text=f"add({', '.join(map(str, numbers))})", source=prefix))
    return problems


class ToyDomain(Domain):
    name = "toy"

    def __init__(self, cfg: ToyConfig | None = None, context: DomainContext | None = None) -> None:
        self.cfg = cfg or ToyConfig()
        self.context = context or DomainContext()
        self.closed = False

    def problem_sets(self) -> list[ProblemSetInfo]:
        return [ProblemSetInfo("toy_train", 4), ProblemSetInfo("toy_valid", 4), ProblemSetInfo("toy_test", 6)]

    def load_problem_set(self, name: str) -> list[Problem]:
        if name == "toy_train":
            return make_problems("toy_train", 4, seed=1)
        if name == "toy_test":
            return make_problems("toy_test", 6, seed=2)
        if name == "toy_valid":
            return make_problems("toy_valid", 4, seed=3)
        raise ValueError(f"unknown problem set {name!r}; valid: toy_train, toy_valid, toy_test")

    def load_problems(self, split: str) -> list[Problem]:
        sets = {"train": self.cfg.train_set, "validation": self.cfg.validation_set, "test": self.cfg.test_set}
        if split not in sets:
            raise ValueError(f"unknown split {split!r}; expected train, validation or test")
        return self.load_problem_set(sets[split])

    def problem_set_name(self, split: str) -> str:
        return {"train": self.cfg.train_set, "validation": self.cfg.validation_set}.get(split, self.cfg.test_set)

    def solve_prompt(self, problem: Problem, style: str = "instruct") -> str:
        if style == "compact":
            return f"{problem.text}\n"
        return f"Compute {problem.text}. Put the result in <ANSWER></ANSWER> tags."

    def extract_answer(self, completion: str) -> str | None:
        found = _ANSWER.findall(completion)
        return found[-1].strip() if found else None

    def has_answer_format(self, completion: str) -> bool:
        answer = self.extract_answer(completion)
        return bool(answer)

    def verify(self, problem: Problem, completion: str) -> Verdict:
        numbers = parse_numbers(problem.text)
        answer = self.extract_answer(completion)
        if numbers is None:
            return Verdict(VerdictStatus.ERROR, "bad problem")
        if answer is None:
            return Verdict(VerdictStatus.UNPARSEABLE, "no <ANSWER> block")
        if not re.fullmatch(r"-?\d{1,12}", answer):
            return Verdict(VerdictStatus.UNPARSEABLE, f"not an integer: {answer[:40]!r}")
        if int(answer) == sum(numbers):
            return Verdict(VerdictStatus.CORRECT)
        return Verdict(VerdictStatus.INCORRECT, f"expected another sum than {answer}")

    def transformation_menu(self) -> TransformationMenu:
        return TransformationMenu(easier=("drop a number", "halve a number"), equivalent=("reorder",))

    def personas(self) -> Sequence[str]:
        return ("a careful accountant", "a child learning sums")

    def variant_prompt(self, problem: Problem, transformations: Sequence[str], persona: str, n: int) -> str:
        return (f"As {persona}, write {n} easier versions of {problem.text} "
                f"by applying: {'; '.join(transformations)}. One add(...) per line.\n")

    def parse_variant_reply(self, reply: str) -> list[VariantProposal]:
        return [VariantProposal(text=m) for m in _VARIANT_LINE.findall(reply)]

    def validate_variant(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        numbers = parse_numbers(candidate.text)
        if numbers is None:
            return VariantRejection("unparseable", candidate.text[:60])
        if len(numbers) < 2:
            return VariantRejection("trivial", "fewer than two numbers")
        canonical = ",".join(map(str, sorted(numbers)))
        if canonical == self.canonical_form(parent):
            return VariantRejection("same_as_parent")
        return ValidatedVariant(text=f"add({', '.join(map(str, numbers))})", canonical=canonical)

    def canonical_form(self, problem: Problem) -> str:
        numbers = parse_numbers(problem.text) or []
        return ",".join(map(str, sorted(numbers)))

    def close(self) -> None:
        self.closed = True


class ToyRulesGenerator:
    """Programmatic generator for the toy domain: drop or shrink one number."""

    name = "toy-rules"

    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        out = []
        for problem in problems:
            numbers = parse_numbers(problem.text) or []
            proposals = []
            for _ in range(n):
                nums = list(numbers)
                if len(nums) > 2 and rng.random() < 0.5:
                    nums.pop(rng.randrange(len(nums)))
                    kind = "drop a number"
                else:
                    i = rng.randrange(len(nums))
                    nums[i] = max(1, nums[i] // 2)
                    kind = "halve a number"
                proposals.append(VariantProposal(f"add({', '.join(map(str, nums))})", (kind,)))
            out.append(proposals)
        return out


class ToyPlugin:
    """Registers the toy domain and its rules generator (``PluginHost(create_plugin_manager(extra_plugins=[ToyPlugin()]))``)."""

    from ladder_core.hookspecs import hookimpl as _hookimpl

    @_hookimpl
    def ladder_domains(self):  # type: ignore[no-untyped-def]
        from ladder_core.hookspecs import DomainSpec

        return [DomainSpec(name="toy", config=ToyConfig(), factory=lambda cfg, ctx: ToyDomain(cfg, ctx),
                           description="integer sums (tests)")]

    @_hookimpl
    def ladder_variant_generators(self):  # type: ignore[no-untyped-def]
        from ladder_core.hookspecs import VariantGeneratorSpec

        return [VariantGeneratorSpec(name="toy-rules", factory=lambda domain, cfg: ToyRulesGenerator(),
                                     domains=("toy",))]
