"""Hook specifications: the whole public plugin surface of ladder.

A plugin is a module (or object) exposing functions decorated with
``ladder_core.hookimpl`` and named like the specifications below. It is found
through the ``ladder`` entry-point group::

    [project.entry-points.ladder]
    mydomain = "ladder_mydomain.plugin"

Contribution hooks return lists of typed records (``DomainSpec``,
``VariantGeneratorSpec``, ``RewardSpec``, ``EmbeddedModel``, defined in
:mod:`ladder_core.records`); the plugin manager
collects them from every plugin and rejects duplicate names with an error that
names both plugins. Observer hooks return nothing and are called for every
plugin with typed payloads (:mod:`ladder_core.observers`,
:mod:`ladder_core.artifacts`); they let research forks log, checkpoint or
intervene without touching the core.

This module imports nothing heavy: loading plugins must stay cheap so that
``ladder --help`` answers at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pluggy

PROJECT_NAME = "ladder"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# --------------------------------------------------------------------------- records
# The records live in their own stdlib-only modules; they are re-exported here because
# plugins import them from ``ladder_core.hookspecs`` next to ``hookimpl``.
from ladder_core.artifacts import TtrlProblemResult  # noqa: E402
from ladder_core.observers import RunReport, TrainStepInfo  # noqa: E402
from ladder_core.records import DomainSpec, EmbeddedModel, RewardSpec, TreeNode, VariantGeneratorSpec  # noqa: E402

__all__ = [
    "DomainSpec", "EmbeddedModel", "RewardSpec", "RunReport", "TrainStepInfo", "TreeNode", "TtrlProblemResult",
    "VariantGeneratorSpec", "hookimpl", "hookspec",
]


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
def ladder_run_end(report: RunReport, run_dir: Path) -> None:
    """Called once after the last stage (the report, when it runs), with every stage's summary record.

    ``report`` is a :class:`~ladder_core.observers.RunReport`: ``baseline``,
    ``variants``, ``train``, ``final`` (the trained model's evaluation) and
    ``ttrl`` are the typed records of ``docs/run-directory.md`` (``None`` for
    a stage that did not run). Returns nothing. Example::

        @hookimpl
        def ladder_run_end(report, run_dir):
            if report.final is not None:
                print("final pass@1", report.final.pass_at(1))
    """


@hookspec
def ladder_train_step_end(info: TrainStepInfo) -> None:
    """Called after every optimisation step of training and of TTRL. Returns nothing.

    ``info`` is a :class:`~ladder_core.observers.TrainStepInfo`: ``stage``
    (``train``/``ttrl``), ``step``, ``log`` (the step's ``log.jsonl`` record,
    :class:`~ladder_core.artifacts.TrainStep`), ``run_dir`` and, in TTRL,
    ``problem_id`` (the test problem being adapted to). Example::

        @hookimpl
        def ladder_train_step_end(info):
            if info.step % 10 == 0: print(info.stage, info.problem_id, info.step, info.log.reward)
    """


@hookspec
def ladder_tree_grew(root_id: str, nodes: list[TreeNode], run_dir: Path | None) -> None:
    """Called when accepted variant nodes (:class:`~ladder_core.records.TreeNode` records) join a root's tree.

    ``run_dir`` is the run directory (``None`` for trees built outside a
    pipeline run); in TTRL, ``root_id`` is the test problem. Example::

        @hookimpl
        def ladder_tree_grew(root_id, nodes):
            print(root_id, "grew by", len(nodes))
    """


@hookspec
def ladder_ttrl_problem_end(result: TtrlProblemResult, run_dir: Path | None) -> None:
    """Called when test-time RL on one test problem ends (before the weights are restored).

    ``result`` is the line written to ``ttrl/results.jsonl``
    (:class:`~ladder_core.artifacts.TtrlProblemResult`, with the
    ``problem_id``); ``run_dir`` the run directory. Example::

        @hookimpl
        def ladder_ttrl_problem_end(result):
            print(result.problem_id, "solved" if result.solved else "failed")
    """
