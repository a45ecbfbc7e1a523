"""Hook specifications: the whole public plugin surface of ladder.

A plugin is a module (or object) exposing functions decorated with
``ladder_core.hookimpl`` and named like the specifications below. It is found
through the ``ladder`` entry-point group::

    [project.entry-points.ladder]
    mydomain = "ladder_mydomain.plugin"

Contribution hooks return lists of typed records (``DomainSpec``,
``VariantGeneratorSpec``, ``RewardSpec``, ``EmbeddedModel``); the plugin manager
collects them from every plugin and rejects duplicate names with an error that
names both plugins. Observer hooks return nothing and are called for every
plugin; they let research forks log, checkpoint or intervene without touching
the core.

This module imports nothing heavy: loading plugins must stay cheap so that
``ladder --help`` answers at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from ladder_core.domain import Domain, DomainContext, RewardFunction, VariantGenerator

PROJECT_NAME = "ladder"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------------- records
@dataclass(frozen=True)
class DomainSpec:
    """A domain a plugin offers.

    ``config`` is the Hydra config node registered as ``domain/<name>`` (a
    dataclass instance or a plain mapping; it must have a ``name`` field equal
    to ``name``). ``factory(domain_cfg, context)`` builds the
    :class:`~ladder_core.domain.Domain` object; it is called only when a run
    needs the domain, so it may import heavy libraries.
    """

    name: str
    config: Any
    factory: Callable[[Any, DomainContext], Domain]
    description: str = ""


@dataclass(frozen=True)
class VariantGeneratorSpec:
    """A variant generator a plugin offers (selected by ``variants.generators``).

    ``domains`` restricts it to some domains (empty = any domain).
    ``factory(domain, run_cfg)`` returns a
    :class:`~ladder_core.domain.VariantGenerator`; ``run_cfg`` is the whole
    composed run config: read the core's knobs typed, with their defaults, as
    ``VariantsConfig.of(run_cfg)`` / ``GeneratorConfig.of(run_cfg)``
    (:mod:`ladder_core.schema`); your own knobs belong in your domain's node.
    """

    name: str
    factory: Callable[[Domain, Any], VariantGenerator]
    domains: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class RewardSpec:
    """An extra reward function (selected by ``reward.extra``; weight in ``reward.weights``).

    ``factory(domain, reward_cfg)`` returns a TRL-compatible reward function.
    """

    name: str
    factory: Callable[[Domain, Any], RewardFunction]
    domains: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class EmbeddedModel:
    """A model shipped inside a package, usable as ``${ladder_embedded:<name>}`` in model configs.

    ``domains`` names the domains it was trained for; a run of another domain
    with it gets a warning (it runs, but its numbers mean little).
    """

    name: str
    path: Path
    description: str = ""
    domains: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrainStepInfo:
    """What observers learn after each optimisation step."""

    stage: str  # "train" or "ttrl"
    step: int
    metrics: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class TTRLProblemResult:
    """Outcome of test-time RL on one test problem.

    ``samples`` answers were drawn from the adapted model (``adapted_correct``
    verified) and, as the control, from the same model before adaptation
    (``control_correct``); ``*_greedy`` are the greedy answers' verdicts.
    ``solved``/``control_solved`` apply the one "solved" rule
    (:mod:`ladder_core.evaluation.solved`). ``trained_on_problem`` is false
    under the authors' protocol (variants only).
    """

    problem_id: str
    trained_on_problem: bool
    variants: int
    steps: int
    samples: int
    adapted_correct: int
    adapted_greedy: bool | None
    control_correct: int
    control_greedy: bool | None
    solved: bool
    control_solved: bool
    steps_to_solve: int | None = None


# ----------------------------------------------------------------------- contribution
@hookspec
def ladder_domains() -> list[DomainSpec]:
    """Domains this plugin offers. Collected from every plugin; names must be unique.

    Example::

        @hookimpl
        def ladder_domains():
            return [DomainSpec(name="countdown", config=CountdownConfig(), factory=CountdownDomain)]
    """


@hookspec
def ladder_variant_generators() -> list[VariantGeneratorSpec]:
    """Variant generators this plugin offers. Collected; names must be unique.

    The core contributes ``llm`` (prompted language model) through this same
    hook. Example::

        @hookimpl
        def ladder_variant_generators():
            return [VariantGeneratorSpec("countdown-rules", lambda domain, cfg: RuleGenerator(domain),
                                         domains=("countdown",))]
    """


@hookspec
def ladder_reward_functions() -> list[RewardSpec]:
    """Extra reward functions (besides the domain's accuracy and format rewards). Collected.

    Example::

        @hookimpl
        def ladder_reward_functions():
            return [RewardSpec("brevity", lambda domain, cfg: brevity_reward)]
    """


@hookspec
def ladder_embedded_models() -> list[EmbeddedModel]:
    """Models shipped inside this plugin's package. Collected; names must be unique.

    Example::

        @hookimpl
        def ladder_embedded_models():
            return [EmbeddedModel("integration-tiny", Path(__file__).parent / "tinymodel" / "weights")]
    """


# --------------------------------------------------------------------------- observers
@hookspec
def ladder_run_start(cfg: Any, run_dir: Path) -> None:
    """Called once before the first stage runs, with the composed config. Returns nothing.

    Example::

        @hookimpl
        def ladder_run_start(cfg, run_dir):
            (run_dir / "fork-notes.txt").write_text("started")
    """


@hookspec
def ladder_run_end(report: Mapping[str, Any], run_dir: Path) -> None:
    """Called once after the report is written, with the machine-readable report. Returns nothing.

    Example::

        @hookimpl
        def ladder_run_end(report, run_dir):
            print("final pass@1", report["final"]["pass@1"])
    """


@hookspec
def ladder_train_step_end(info: TrainStepInfo) -> None:
    """Called after every optimisation step of training and of TTRL. Returns nothing.

    Example::

        @hookimpl
        def ladder_train_step_end(info):
            if info.step % 10 == 0: print(info.stage, info.step, info.metrics.get("reward"))
    """


@hookspec
def ladder_tree_grew(root_id: str, nodes: list[Any]) -> None:
    """Called when accepted variant nodes (``VariantNode`` records) are added to a root's tree.

    Example::

        @hookimpl
        def ladder_tree_grew(root_id, nodes):
            print(root_id, "grew by", len(nodes))
    """


@hookspec
def ladder_ttrl_problem_end(result: TTRLProblemResult) -> None:
    """Called when test-time RL on one test problem ends (before the weights are restored).

    Example::

        @hookimpl
        def ladder_ttrl_problem_end(result):
            print(result.problem_id, "solved" if result.solved else "failed")
    """
