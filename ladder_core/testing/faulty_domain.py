"""A fault-injecting plugin: the toy domain, with every kind of misbehaviour the core must survive.

Register it without installing anything::

    LADDER_PLUGINS=ladder_core.testing.faulty_domain \\
        ladder +domain=faulty "pipeline.stages=[variants,train]" trainer.max_steps=6 "reward.extra=[faulty_reward]"

What it does (counters are per process, so a run is reproducible):

* ``verify_batch``: every ``batch_fault_every``-th call fails, alternately by
  raising and by returning one verdict too few;
* ``verify`` (the core's per-item fallback): calls raise or return a string
  instead of a ``Verdict`` in turn, and call number ``hang_after`` sleeps for
  ``hang_s`` seconds (an hour by default) -- once per process;
* the extra reward ``faulty_reward``: every other batch call raises; the
  others return NaN, None, a string and inf among real rewards; its per-item
  calls raise now and then;
* observers ``ladder_train_step_end`` and ``ladder_tree_grew`` always raise;
* the variant generator ``faulty-rules`` raises on its second call, and
  ``validate_variant`` raises on every seventh.

Its embedded model ``faulty-tiny`` (what ``model=tiny``, the default, loads)
is a random tiny Llama built once into the temporary directory.

Every injected fault is tallied in :data:`INJECTED` with the kind name the
core's counters use, so tests compare the two.
"""

from __future__ import annotations

import math
import os
import random
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pathlib import Path

from ladder_core.hookspecs import DomainSpec, EmbeddedModel, RewardSpec, VariantGeneratorSpec, hookimpl
from ladder_core.records import Problem, ValidatedVariant, VariantProposal, VariantRejection, Verdict
from ladder_core.testing.toy_domain import ToyDomain, ToyRulesGenerator

NAME = "faulty"
REWARD = "faulty_reward"
GENERATOR = "faulty-rules"

_lock = threading.Lock()
#: Faults injected so far, by the kind name the core counts them under.
INJECTED: Counter[str] = Counter()
_calls: Counter[str] = Counter()
_hung = threading.Event()


def reset() -> None:
    """Forget injected faults and call counters (tests call this first)."""
    with _lock:
        INJECTED.clear()
        _calls.clear()
    _hung.clear()


def _next(counter: str) -> int:
    with _lock:
        n = _calls[counter]
        _calls[counter] += 1
        return n


def _inject(kind: str) -> None:
    with _lock:
        INJECTED[kind] += 1


@dataclass
class FaultyConfig:
    name: str = NAME
    train_set: str = "toy_train"
    test_set: str = "toy_test"
    validation_set: str = "toy_valid"
    hang_s: float = 3600.0  # how long the hanging check sleeps
    hang_after: int = 2  # which per-item verify call hangs (0-based; once per process)
    batch_fault_every: int = 2  # verify_batch calls 1, 3, 5... fail (raise, wrong length, raise...)
    validate_fault_every: int = 7


class FaultyDomain(ToyDomain):
    name = NAME

    def __init__(self, cfg: Any = None, context: Any = None) -> None:
        super().__init__(cfg or FaultyConfig(), context)

    def verify_batch(self, problems: Sequence[Problem], completions: Sequence[str]) -> list[Verdict]:
        call = _next("verify_batch")
        every = int(self.cfg.batch_fault_every)
        verdicts = [ToyDomain.verify(self, p, c) for p, c in zip(problems, completions)]
        if every and call % every == every - 1:
            if (call // every) % 2 == 0:
                _inject("batch.raised")
                raise RuntimeError("injected: verify_batch raises")
            _inject("batch.wrong_length")
            return verdicts[:-1]
        return verdicts

    def verify(self, problem: Problem, completion: str) -> Any:
        call = _next("verify")
        if call == int(self.cfg.hang_after) and not _hung.is_set():
            _hung.set()
            _inject("verify.timeout")
            time.sleep(float(self.cfg.hang_s))
            return super().verify(problem, completion)  # long abandoned by the core
        if call % 3 == 1:
            _inject("verify.raised")
            raise ValueError("injected: verify raises")
        if call % 3 == 2:
            _inject("verify.wrong_type")
            return "correct"  # not a Verdict
        return super().verify(problem, completion)

    def validate_variant(self, parent: Problem, candidate: VariantProposal) -> ValidatedVariant | VariantRejection:
        every = int(self.cfg.validate_fault_every)
        if every and _next("validate") % every == every - 1:
            _inject("variants.validate.raised")
            raise KeyError("injected: validate_variant raises")
        return super().validate_variant(parent, candidate)


class FaultyRulesGenerator(ToyRulesGenerator):
    name = GENERATOR

    def propose(self, problems: Sequence[Problem], n: int, rng: random.Random) -> list[list[VariantProposal]]:
        if _next("propose") == 1:
            _inject(f"variants.propose.{GENERATOR}.raised")
            raise RuntimeError("injected: propose raises")
        return super().propose(problems, n, rng)


_BAD_VALUES: tuple[tuple[Any, str], ...] = ((math.nan, "nonfinite"), (None, "none"), ("0.5", "wrong_type"),
                                            (math.inf, "nonfinite"))


def faulty_reward(prompts: list[Any], completions: list[Any], **kwargs: Any) -> list[Any]:
    """An extra reward that misbehaves in every way TRL would choke on."""
    if len(completions) == 1:  # the core's per-item fallback
        if _next("reward_item") % 4 == 0:
            _inject(f"extra.{REWARD}.raised")
            raise ZeroDivisionError("injected: reward raises on one completion")
        return [0.25]
    if _next("reward_batch") % 2 == 1:
        _inject("reward_batch.raised")
        raise RuntimeError("injected: reward raises on a batch")
    out: list[Any] = []
    for i in range(len(completions)):
        if i < len(_BAD_VALUES):
            value, kind = _BAD_VALUES[i]
            _inject(f"extra.{REWARD}.{kind}")
            out.append(value)
        else:
            out.append(0.5)
    return out


# ------------------------------------------------------------------- hooks
@hookimpl
def ladder_domains() -> list[DomainSpec]:
    return [DomainSpec(name=NAME, config=FaultyConfig(), factory=lambda cfg, ctx: FaultyDomain(cfg, ctx),
                       description="the toy domain with injected faults (tests of the core's robustness)")]


@hookimpl
def ladder_variant_generators() -> list[VariantGeneratorSpec]:
    return [VariantGeneratorSpec(name=GENERATOR, factory=lambda domain, cfg: FaultyRulesGenerator(),
                                 domains=(NAME,), description="toy rules that raise now and then")]


@hookimpl
def ladder_reward_functions() -> list[RewardSpec]:
    return [RewardSpec(name=REWARD, factory=lambda domain, cfg: faulty_reward, domains=(NAME,),
                       description="an extra reward returning NaN, None, strings, or raising")]


def _tiny_model_dir() -> Path:
    """A random tiny Llama with a character tokenizer, built once (atomically) under the temp directory."""
    path = Path(tempfile.gettempdir()) / "ladder-faulty-tiny-model"
    if not (path / "config.json").exists():
        from ladder_core.testing.tiny_models import tiny_llama

        staging = Path(tempfile.mkdtemp(prefix="ladder-faulty-tiny-"))
        tiny_llama(staging / "model", hidden=32, layers=1)
        try:
            os.replace(staging / "model", path)
        except OSError:  # built meanwhile by another process
            pass
        shutil.rmtree(staging, ignore_errors=True)
    return path


@hookimpl
def ladder_embedded_models() -> list[EmbeddedModel]:
    return [EmbeddedModel(name="faulty-tiny", path=_tiny_model_dir(), domains=(NAME,),
                          description="a random tiny Llama for the fault-injecting test domain")]


@hookimpl
def ladder_train_step_end(info: Any) -> None:
    _inject("observer.ladder_train_step_end")
    raise RuntimeError(f"injected: observer raises at step {info.step}")


@hookimpl
def ladder_tree_grew(root_id: str, nodes: list[Any]) -> None:
    _inject("observer.ladder_tree_grew")
    raise RuntimeError("injected: tree observer raises")
