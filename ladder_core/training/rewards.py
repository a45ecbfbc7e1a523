"""Reward functions for TRL that plugin code can never stop: every completion gets its own outcome.

The paper's values are the defaults: 1.05 for a verified answer, 0.05 for a
well-formatted wrong one, 0 without tags. The domain's verifier and every
extra reward (``ladder_reward_functions``) are plugin code; here they run
under the core's deadlines (:mod:`ladder_core.deadlines`) and their results
are checked one completion at a time:

* a batch call that raises, times out, returns the wrong type or the wrong
  number of results falls back to per-item calls, so one bad completion costs
  one completion, not the batch (the fallback shares one batch deadline);
* a per-item call that raises, times out or returns something that is not a
  ``Verdict`` (verifier) or a finite number (extra reward: NaN, inf, None, a
  string) scores 0 for that completion;
* every such completion is counted by kind in :class:`RewardFaults`, one unit
  throughout (completions), which reaches ``train/log.jsonl`` (per step),
  ``train/summary.json`` and the report (``reward_failures``).

A ``Verdict`` of status ``timeout``/``error`` is the domain's own bounded
failure: it scores as a wrong answer (the format reward still applies) and is
counted as ``check.timeout``/``check.error``.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ladder_core.deadlines import PluginDeadlines, call_with_deadline
from ladder_core.domain import Domain
from ladder_core.records import Problem, Verdict, VerdictStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RewardValues:
    correct: float = 1.05
    formatted: float = 0.05
    unformatted: float = 0.0

    @classmethod
    def from_config(cls, cfg: Any) -> RewardValues:
        return cls(float(cfg.correct), float(cfg.formatted), float(cfg.unformatted))


@dataclass
class ScoredBatch:
    """What one reward call saw, handed to observers (curriculum, logs, TTRL early stop)."""

    node_ids: list[str]
    depths: list[int]
    correct: list[bool]
    rewards: list[float]


class RewardFaults:
    """Completions whose reward plugin code failed to give, by kind; unit: completions.

    Kinds: ``verify.raised|timeout|wrong_type``, ``check.timeout|error``,
    ``format.raised|timeout``, ``extra.<name>.raised|timeout|wrong_type|none|nonfinite``.
    Thread-safe. :meth:`take_step` returns the counts since its last call (a log line),
    :meth:`totals` everything (including counts restored from a checkpoint).
    """

    def __init__(self, initial: Mapping[str, int] | None = None) -> None:
        self._lock = threading.Lock()
        self._total: Counter[str] = Counter({str(k): int(v) for k, v in (initial or {}).items()})
        self._step: Counter[str] = Counter()
        self.batch_fallbacks = 0  # batch calls answered per item instead (unit: calls, kept apart)

    def add(self, kind: str, n: int = 1) -> None:
        if n <= 0:
            return
        with self._lock:
            self._total[kind] += n
            self._step[kind] += n

    def restore(self, counts: Mapping[str, int]) -> None:
        """Add counts saved by an earlier attempt (resume from a checkpoint)."""
        with self._lock:
            for kind, n in counts.items():
                self._total[str(kind)] += int(n)

    def totals(self) -> dict[str, int]:
        with self._lock:
            return dict(sorted(self._total.items()))

    def total(self) -> int:
        with self._lock:
            return sum(self._total.values())

    def take_step(self) -> dict[str, int]:
        with self._lock:
            out, self._step = dict(sorted(self._step.items())), Counter()
            return out


@dataclass
class RewardStats:
    checks: int = 0
    correct: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def completion_text(completion: Any) -> str:
    """TRL passes plain strings, or a list of chat messages for conversational prompts."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        return str(completion[-1].get("content", ""))
    return str(completion)


def _per_item_kwargs(kwargs: Mapping[str, Any], n: int, i: int) -> dict[str, Any]:
    """Row ``i`` of every per-completion column; shared values (``trainer_state``, ``log_metric``) as they are."""
    return {k: ([v[i]] if isinstance(v, (list, tuple)) and len(v) == n else v) for k, v in kwargs.items()}


class _Budget:
    """Seconds left for a batch's per-item fallback (so N hung items cost one deadline, not N)."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self, cap: float) -> float:
        return min(cap, self.end - time.monotonic())


class DomainReward:
    """``reward(prompts, completions, completion_ids, problem_id=..., problem_text=..., node_id=..., depth=...)``."""

    __name__ = "accuracy_format"

    def __init__(self, domain: Domain, values: RewardValues = RewardValues(),
                 observers: Sequence[Callable[[ScoredBatch], None]] = (), *,
                 deadlines: PluginDeadlines = PluginDeadlines(), faults: RewardFaults | None = None) -> None:
        self.domain = domain
        self.values = values
        self.observers = list(observers)
        self.deadlines = deadlines
        self.faults = faults if faults is not None else RewardFaults()
        self.stats = RewardStats()

    # ----------------------------------------------------------- verification
    def _verify(self, problems: list[Problem], texts: list[str]) -> list[Verdict | None]:
        return verify_each(self.domain, problems, texts, self.deadlines, self.faults)

    def _formats(self, texts: list[str]) -> list[bool]:
        def check_all() -> tuple[list[bool], int]:
            flags, raised = [], 0
            for text in texts:
                try:
                    flags.append(bool(self.domain.has_answer_format(text)))
                except Exception:  # noqa: BLE001 - a domain bug must not stop training
                    flags.append(False)
                    raised += 1
            return flags, raised

        outcome = call_with_deadline(check_all, timeout_s=self.deadlines.verify_s,
                                     name=f"{self.domain.name}.has_answer_format")
        if not outcome.ok:
            self.faults.add("format." + outcome.status, len(texts))
            return [False] * len(texts)
        flags, raised = outcome.value  # type: ignore[misc]
        self.faults.add("format.raised", raised)
        return flags

    def __call__(self, prompts: list[Any], completions: list[Any], completion_ids: Any = None, *,
                 problem_id: Sequence[str], problem_text: Sequence[str], node_id: Sequence[str] | None = None,
                 depth: Sequence[int] | None = None, log_metric: Callable[[str, float], None] | None = None,
                 **_: Any) -> list[float]:
        texts = [completion_text(c) for c in completions]
        problems = [Problem(id=str(i), text=str(t)) for i, t in zip(problem_id, problem_text)]
        verdicts = self._verify(problems, texts)
        need_format = [i for i, v in enumerate(verdicts) if v is not None and not verdict_correct(v)]
        formatted = dict(zip(need_format, self._formats([texts[i] for i in need_format]))) if need_format else {}
        rewards, correct = [], []
        failures = 0
        for i, verdict in enumerate(verdicts):
            ok = verdict is not None and verdict_correct(verdict)
            correct.append(ok)
            if verdict is None:
                rewards.append(0.0)
                failures += 1
                continue
            rewards.append(self.values.correct if ok else
                           self.values.formatted if formatted.get(i) else self.values.unformatted)
            status = verdict.status.value if isinstance(verdict.status, VerdictStatus) else str(verdict.status)
            self.stats.by_status[status] = self.stats.by_status.get(status, 0) + 1
            if verdict.status in (VerdictStatus.TIMEOUT, VerdictStatus.ERROR):
                self.faults.add(f"check.{status}")
                failures += 1
        self.stats.checks += len(texts)
        self.stats.correct += sum(correct)
        if log_metric is not None:
            log_metric("ladder/verifier_failures", float(failures))
            log_metric("ladder/accuracy", sum(correct) / max(1, len(correct)))
        batch = ScoredBatch(
            node_ids=[str(n) for n in (node_id if node_id is not None else problem_id)],
            depths=[int(d) for d in (depth if depth is not None else [0] * len(texts))],
            correct=correct, rewards=rewards,
        )
        for observer in self.observers:
            observer(batch)
        return rewards

    def guard(self, func: Callable[..., Any]) -> GuardedReward:
        """Wrap an extra reward function so that it shares this reward's deadlines and fault counts."""
        return GuardedReward(func, self.faults, self.deadlines)


def verify_each(domain: Domain, problems: Sequence[Problem], texts: Sequence[str],
                deadlines: PluginDeadlines = PluginDeadlines(), faults: RewardFaults | None = None
                ) -> list[Verdict | None]:
    """One verdict per completion under the core's deadlines; ``None`` where plugin code failed.

    ``verify_batch`` first; if it raises, overruns or returns the wrong type or
    length, ``verify`` per item, all within one ``verify_batch_s`` budget.
    Failures are counted in ``faults`` (``verify.raised|timeout|wrong_type``).
    """
    faults = faults if faults is not None else RewardFaults()
    problems, texts = list(problems), list(texts)
    d = deadlines
    batch = call_with_deadline(domain.verify_batch, problems, texts, timeout_s=d.verify_batch_s,
                               name=f"{domain.name}.verify_batch")
    if batch.ok:
        got = batch.value
        if isinstance(got, (list, tuple)) and len(got) == len(texts) and all(isinstance(v, Verdict) for v in got):
            return list(got)
        why = (f"returned {type(got).__name__}" if not isinstance(got, (list, tuple))
               else f"returned {len(got)} results for {len(texts)} completions")
    else:
        why = batch.error
    log.warning("%s.verify_batch failed (%s); checking the %d completions one by one", domain.name, why, len(texts))
    faults.batch_fallbacks += 1
    budget = _Budget(d.verify_batch_s)
    out: list[Verdict | None] = []
    for problem, text in zip(problems, texts):
        left = budget.left(d.verify_s)
        if left <= 0:
            faults.add("verify.timeout")
            out.append(None)
            continue
        one = call_with_deadline(domain.verify, problem, text, timeout_s=left, name=f"{domain.name}.verify")
        if one.ok and isinstance(one.value, Verdict):
            out.append(one.value)
        else:
            faults.add("verify." + ("wrong_type" if one.ok else one.status))
            out.append(None)
    return out


def checked_verdicts(domain: Domain, problems: Sequence[Problem], texts: Sequence[str],
                     deadlines: PluginDeadlines = PluginDeadlines()) -> list[Verdict]:
    """:func:`verify_each` for evaluation: a plugin failure becomes an ``error`` verdict (never correct)."""
    faults = RewardFaults()
    verdicts = verify_each(domain, problems, texts, deadlines, faults)
    failed = ", ".join(f"{k} {v}" for k, v in faults.totals().items())
    return [v if v is not None else Verdict(VerdictStatus.ERROR, f"the domain's verifier failed ({failed})")
            for v in verdicts]


def verdict_correct(verdict: Verdict) -> bool:
    try:
        return bool(verdict.correct)
    except Exception:  # noqa: BLE001 - a Verdict subclass with a broken property
        return False


class GuardedReward:
    """A plugin's TRL reward function, made total: one finite float per completion, never an exception.

    Same call signature as TRL expects (``prompts, completions, completion_ids, **columns``)
    and the same ``__name__`` (TRL logs ``rewards/<name>``).
    """

    def __init__(self, func: Callable[..., Any], faults: RewardFaults, deadlines: PluginDeadlines) -> None:
        self.func = func
        self.faults = faults
        self.deadlines = deadlines
        self.__name__ = str(getattr(func, "__name__", type(func).__name__))

    def _call(self, **kwargs: Any) -> Any:
        result = self.func(**kwargs)
        if inspect.isawaitable(result):  # an async reward function: run it here, in the guard's thread
            async def wait() -> Any:
                return await result
            result = asyncio.run(wait())
        if not isinstance(result, (list, tuple)):  # materialise generators inside the deadline
            result = list(result) if hasattr(result, "__iter__") and not isinstance(result, (str, bytes)) else result
        return result

    def _value(self, value: Any) -> float | None:
        """The reward, or ``None`` after counting why it is not one."""
        kind = None
        if value is None:
            kind = "none"
        elif isinstance(value, (str, bytes)) or not hasattr(value, "__float__"):
            kind = "wrong_type"
        else:
            try:
                number = float(value)
            except Exception:  # noqa: BLE001 - a tensor with several elements, a broken __float__
                kind = "wrong_type"
            else:
                if math.isfinite(number):
                    return number
                kind = "nonfinite"
        self.faults.add(f"extra.{self.__name__}.{kind}")
        return None

    def __call__(self, prompts: list[Any], completions: list[Any], completion_ids: Any = None,
                 **kwargs: Any) -> list[float]:
        n = len(completions)
        d = self.deadlines
        columns = dict(prompts=prompts, completions=completions, completion_ids=completion_ids, **kwargs)
        whole = call_with_deadline(lambda: self._call(**columns), timeout_s=d.reward_s,
                                   name=f"reward {self.__name__}")
        if whole.ok and isinstance(whole.value, (list, tuple)) and len(whole.value) == n:
            return [self._with_zero(v) for v in whole.value]
        if whole.status == "timeout":  # a hung function would hang per item too: zero the batch
            self.faults.add(f"extra.{self.__name__}.timeout", n)
            return [0.0] * n
        why = whole.error if not whole.ok else f"returned {_describe(whole.value, n)}"
        log.warning("reward %s failed on a batch (%s); scoring the %d completions one by one", self.__name__, why, n)
        self.faults.batch_fallbacks += 1
        budget = _Budget(d.reward_s)
        out = []
        for i in range(n):
            left = budget.left(d.reward_s)
            if left <= 0:
                self.faults.add(f"extra.{self.__name__}.timeout")
                out.append(0.0)
                continue
            row = _per_item_kwargs(columns, n, i)
            one = call_with_deadline(lambda row=row: self._call(**row), timeout_s=left,
                                     name=f"reward {self.__name__}")
            if not one.ok:
                self.faults.add(f"extra.{self.__name__}.{one.status}")
                out.append(0.0)
            elif not isinstance(one.value, (list, tuple)) or len(one.value) != 1:
                self.faults.add(f"extra.{self.__name__}.wrong_type")
                out.append(0.0)
            else:
                out.append(self._with_zero(one.value[0]))
        return out

    def _with_zero(self, value: Any) -> float:
        number = self._value(value)
        return 0.0 if number is None else number


def _describe(value: Any, n: int) -> str:
    if isinstance(value, (list, tuple)):
        return f"{len(value)} rewards for {n} completions"
    return type(value).__name__
