"""The typed schema of a run config: every core section as a dataclass, every default written once.

The root :class:`LadderConfig` is stored in Hydra's ConfigStore as
``ladder_schema`` and is the first entry of ``conf/config.yaml``'s defaults
list, so OmegaConf checks every value's type while Hydra composes (``ladder
+domain=integration trainer.max_steps=abc`` stops before anything runs) and
refuses keys the schema lacks. Ranges and choices are checked by
:func:`check_config` right after composition, before the run directory exists.
The YAML option files under ``conf/`` keep only what differs from these
defaults; ``docs/configuration.md`` is generated from this module
(``python -m ladder_core.schema`` prints it, a test compares).

Adding a key is one line in the right dataclass::

    max_retries: int = knob(4, "Retries of a failed request.", ge=0)

``knob(default, doc, ge=, gt=, le=, lt=, choices=, items_ge=, items_in=)`` records the
default, the one-line documentation and the allowed values. Read a section as
a typed object with ``Section.of(run_cfg)`` (e.g. ``GeneratorConfig.of(cfg)``),
or any node with :func:`ladder_core.config_nodes.coerce_node`.

Imports only the standard library and stdlib-only core modules at module level
(OmegaConf/Hydra are imported by the functions that need them), so plugins may
import it cheaply.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Sequence
from dataclasses import MISSING, dataclass, field
from typing import Any, ClassVar, Dict, List, Optional, TypeVar

from ladder_core.config_nodes import ConfigError, allowed_text, check_fields, coerce_node, knob
from ladder_core.difficulty.config import CurriculumConfig

S = TypeVar("S", bound="Section")

#: OmegaConf's marker of a value that must be given (``name: ???`` in YAML).
REQUIRED = "???"

__all__ = ["ConfigError", "knob", "LadderConfig", "SECTIONS", "check_config", "register_schema"]

#: Pipeline stages in the order they run (``pipeline.stages`` picks among them).
STAGE_NAMES = ("baseline", "variants", "train", "evaluate", "ttrl", "report")


@dataclass
class Section:
    """Base of the core's config sections: ranges checked on construction, typed access from a run config."""

    KEY: ClassVar[str] = ""

    def __post_init__(self) -> None:
        check_fields(self, self.KEY)
        self.check()

    def check(self) -> None:
        """Rules between keys of one section (raise :class:`ConfigError`)."""

    @classmethod
    def of(cls: type[S], run_cfg: Any) -> S:
        """This section of a whole run config (DictConfig, mapping, :class:`LadderConfig` or ``None``) as ``cls``."""
        if isinstance(run_cfg, LadderConfig):
            return getattr(run_cfg, cls.KEY)
        node = None
        if run_cfg is not None:
            node = run_cfg.get(cls.KEY) if hasattr(run_cfg, "get") else getattr(run_cfg, cls.KEY, None)
        return coerce_node(cls, node, where=cls.KEY)


@dataclass
class PipelineConfig(Section):
    """Which stages run; finished stages are skipped on a rerun in the same run directory."""

    KEY: ClassVar[str] = "pipeline"
    stages: List[str] = knob(list(STAGE_NAMES), "Stages to run (they always run in the canonical order).",
                             items_in=STAGE_NAMES)
    force: List[str] = knob([], "Stages to redo even if their artifacts exist.", items_in=STAGE_NAMES)


@dataclass
class EvaluationConfig(Section):
    """How the baseline and the trained model are evaluated on the test set."""

    KEY: ClassVar[str] = "evaluation"
    max_problems: Optional[int] = knob(None, "Test problems evaluated (null = all).", ge=1)
    samples: int = knob(8, "Samples per problem for pass@k; pass@1 is estimated from the same samples.", ge=1)
    k: List[int] = knob([1, 2, 4, 8], "The k of the reported pass@k (each <= samples).", items_ge=1)
    temperature: float = knob(1.0, "Sampling temperature of the evaluation samples.", ge=0)
    greedy: bool = knob(True, "Also record greedy (temperature 0) accuracy.")
    validation: bool = knob(False, "Also evaluate the domain's validation split (into <stage>/validation/); tune "
                                   "on it, report the test set once.")
    batch_size: int = knob(64, "Problems generated and verified per chunk (results are saved per chunk).", ge=1)

    def check(self) -> None:
        if any(k > self.samples for k in self.k):
            raise ConfigError("evaluation.k", list(self.k), f"each k <= evaluation.samples ({self.samples})")


@dataclass
class VariantsConfig(Section):
    """The variant trees grown under each training problem."""

    KEY: ClassVar[str] = "variants"
    generators: List[str] = knob(["auto"], "Variant generators by name (`ladder list`); `auto` = the domain's "
                                           "programmatic generator for tiny models, the LLM for real ones.")
    mix: List[float] = knob([], "Share of each generator when several are mixed (same order; empty = equal).",
                            items_ge=0)
    max_depth: int = knob(3, "Depth of the variant tree below each root.", ge=0)
    per_root: int = knob(500, "Target number of accepted variants per root (the paper: about 500).", ge=0)
    batch: int = knob(10, "Variants asked for per LLM prompt.", ge=1)
    transformations_min: int = knob(3, "Fewest transformations sampled from the domain's menu per prompt.", ge=1)
    transformations_max: int = knob(5, "Most transformations sampled per prompt (inclusive).", ge=1)
    temperatures: List[float] = knob([0.8, 1.0, 1.2, 1.4], "Temperatures cycled through by the LLM generator.",
                                     items_ge=0)
    easier_fraction: float = knob(0.7, "Share of transformations drawn from the easier group.", ge=0, le=1)
    children_per_node: int = knob(10, "Children requested per expanded node before moving deeper.", ge=1)
    max_rounds: int = knob(50, "Generation rounds per root before giving up on reaching per_root.", ge=0)
    reference_check_timeout_s: Optional[float] = knob(
        None, "Keep only variants a reference solver (a CAS) solves within this time; null = off.", gt=0)
    dedup: str = knob("canonical", "Duplicate filter.", choices=("none", "exact", "canonical"))
    max_expansions_per_round: int = knob(64, "Nodes of one root expanded per round at most.", ge=1)

    def check(self) -> None:
        if self.transformations_min > self.transformations_max:
            raise ConfigError("variants.transformations_min", self.transformations_min,
                              f"<= variants.transformations_max ({self.transformations_max})")
        if self.mix and len(self.mix) != len(self.generators):
            raise ConfigError("variants.mix", list(self.mix), f"one share per generator ({len(self.generators)}) "
                                                             "or empty for equal shares")


@dataclass
class RewardConfig(Section):
    """The training reward (the paper's values)."""

    KEY: ClassVar[str] = "reward"
    correct: float = knob(1.05, "Reward of a verified answer.")
    formatted: float = knob(0.05, "Reward of a well-formatted wrong answer.")
    unformatted: float = knob(0.0, "Reward of a completion without the answer format.")
    extra: List[str] = knob([], "Extra reward functions contributed by plugins, by name (`ladder list`).")
    weights: Dict[str, float] = knob({}, "Weight of each extra reward function (default 1.0).")


@dataclass
class PluginDeadlinesConfig(Section):
    """Seconds each plugin call may take during a run (``ladder_core.deadlines``).

    The core runs the call in a thread it abandons past the deadline, counts it and
    goes on. The defaults suit the integration domain, whose own killable workers
    bound each check at 2 s, so these fire only when a plugin breaks its contract.
    """

    KEY: ClassVar[str] = "plugin_deadlines"
    verify_batch_s: float = knob(120.0, "One verify_batch call (a whole reward batch); also the budget of its "
                                        "per-item fallback.", gt=0)
    verify_s: float = knob(10.0, "One verify call (the per-item fallback) and a batch's answer-format checks.", gt=0)
    reward_s: float = knob(60.0, "One call of an extra reward function (a whole batch).", gt=0)
    propose_s: float = knob(900.0, "One variant generator propose call (an LLM may generate for minutes).", gt=0)
    validate_s: float = knob(10.0, "One validate_variant, canonical_form or reference_solvable call "
                                   "(the last: plus its own limit).", gt=0)
    observer_s: float = knob(30.0, "One observer hook implementation.", gt=0)


@dataclass
class TTRLConfig(Section):
    """Test-time RL on each test problem the trained model still fails (weights restored after each)."""

    KEY: ClassVar[str] = "ttrl"
    enabled: bool = knob(True, "Run the ttrl stage when it is in pipeline.stages.")
    max_problems: Optional[int] = knob(None, "Still-failed test problems attempted (null = all).", ge=1)
    order: str = knob("closest", "Which still-failed problems come first (matters when ttrl.max_problems leaves some "
                                 "out): closest = most correct samples in the evaluation TTRL starts from, then "
                                 "test-file order; file = test-file order.", choices=("closest", "file"))
    max_depth: int = knob(2, "Depth of each test problem's variant tree.", ge=0)
    variants_per_problem: int = knob(60, "Variants grown per test problem.", ge=0)
    max_steps: int = knob(20, "GRPO steps per test problem, on its variants only.", ge=1)
    eval_samples: int = knob(8, "Samples of the problem drawn from the adapted model and, as the control, from "
                                "the un-adapted one.", ge=1)
    reset_weights: bool = knob(True, "Restore the weights after each problem (the paper's method); false = adapt "
                                     "continually.")
    train_on_problem: bool = knob(False, "NOT the authors' protocol: also train on the test problem and stop at its "
                                         "first verified rollout (verifier-filtered best-of-N); labelled in the report.")


@dataclass
class DecontaminationConfig(Section):
    """Evaluation problems (test, validation, extra eval sets, TTRL's own problem) never become training nodes."""

    KEY: ClassVar[str] = "decontamination"
    keep_overlapping_roots: bool = knob(False, "Keep training roots that are evaluation problems, for exact "
                                               "reproduction of a published split only (the report labels it).")


@dataclass
class ReportConfig(Section):
    """The end-of-run report."""

    KEY: ClassVar[str] = "report"
    plots: bool = knob(True, "Draw the PNG plots.")


@dataclass
class TrainerConfig(Section):
    """GRPO with TRL (defaults: the paper's settings; `trainer=cpu` sizes them for the tiny model)."""

    KEY: ClassVar[str] = "trainer"
    name: str = knob("paper_grpo", "Name of the option (a label kept in the run's config.yaml; nothing reads it).")
    device: str = knob("auto", "auto (CUDA when present), cpu, cuda, cuda:N.")
    max_steps: int = knob(250, "Optimisation steps.", ge=1)
    prompts_per_step: int = knob(128, "Unique prompts per step; completions per step = this x num_generations.",
                                 ge=1)
    num_generations: int = knob(8, "Completions per prompt (the GRPO group).", ge=2)
    learning_rate: float = knob(1.0e-6, "Learning rate.", gt=0)
    beta: float = knob(0.001, "KL coefficient.", ge=0)
    temperature: float = knob(1.0, "Rollout temperature.", gt=0)
    loss_type: str = knob("grpo", "TRL's GRPO loss type.")
    scale_rewards: str = knob("group", "TRL's advantage scaling (group, batch, none).")
    bf16: bool = knob(True, "Train in bfloat16.")
    gradient_checkpointing: bool = knob(True, "Trade compute for memory.")
    use_vllm: bool = knob(True, "Rollouts through vLLM (pip install 'ladder-core[gpu]').")
    vllm_mode: str = knob("colocate", "colocate shares the training GPUs; server talks to `trl vllm-serve`.",
                          choices=("colocate", "server"))
    vllm_gpu_memory_utilization: float = knob(0.3, "GPU memory share of colocated vLLM.", gt=0, le=1)
    use_transformers_continuous_batching: bool = knob(
        False, "transformers' continuous batching for rollouts when vLLM is not used (GPU only).")
    save_steps: int = knob(25, "Checkpoint every this many steps.", ge=1)
    save_total_limit: Optional[int] = knob(3, "Checkpoints kept (null = all).", ge=1)
    logging_steps: int = knob(1, "Log metrics every this many steps.", ge=1)
    report_to: List[str] = knob(["tensorboard"], "TRL/transformers loggers ([] = none).")
    torch_threads: Optional[int] = knob(None, "torch CPU threads (null = torch's default).", ge=1)
    extra: Dict[str, Any] = knob({}, "Any other GRPOConfig field, passed through unchanged.")
    per_device_batch_size: int = knob(16, "Completions per forward/backward pass on one device.", ge=1)
    num_iterations: int = knob(1, "GRPO iterations per generated batch.", ge=1)
    mask_truncated_completions: bool = knob(False, "Leave truncated completions out of the loss.")
    anchor_weight: float = knob(
        0.0, "Greedy anchor: weight of the mean token NLL of the model's own verified greedy answers to the "
        "training nodes (answered once before training), added to the GRPO loss; 0 = off "
        "(ladder_core/training/anchor.py).", ge=0)
    anchor_batch: int = knob(16, "Greedy-anchor answers in the loss of each optimisation step.", ge=1)
    process_group_timeout_s: int = knob(7200, "Seconds a rank may wait in a collective under `accelerate launch` "
                                        "(the others wait while the main rank runs baseline, variants, evaluation).",
                                        ge=1)


@dataclass
class ModelConfig(Section):
    """The policy model (`model=NAME` picks a file under conf/model)."""

    KEY: ClassVar[str] = "model"
    name: str = knob(REQUIRED, "Short name, for the report.")
    name_or_path: str = knob(REQUIRED, "Hub id or folder; `${ladder_embedded:NAME}` for a model a plugin ships.")
    scale: str = knob("full", "tiny | full: domains pick default problem sets and the prompt style from it.",
                      choices=("tiny", "full"))
    chat_template: bool = knob(True, "Wrap prompts in the tokenizer's chat template (instruction models).")
    dtype: str = knob("bfloat16", "torch dtype (auto, float32, bfloat16, float16).",
                      choices=("auto", "float32", "bfloat16", "float16"))
    max_prompt_length: Optional[int] = knob(512, "Longest prompt, in tokens; longer ones are cut from the left in "
                                                 "training (null = no limit).", ge=1)
    max_completion_length: int = knob(1024, "Longest completion, in tokens (training and evaluation).", ge=1)
    attn_implementation: Optional[str] = knob("sdpa", "transformers attention implementation (null = default).")
    # {} rather than null: OmegaConf cannot merge a command-line dict into a None Optional[Dict] node.
    lora: Dict[str, Any] = knob({}, "peft LoraConfig fields (r, alpha, dropout, target_modules) for LoRA; "
                                    "{} = full fine-tuning.")


@dataclass
class GeneratorConfig(Section):
    """The model that writes variants; ``_target_`` is the builder Hydra instantiates (`generator=NAME`)."""

    KEY: ClassVar[str] = "generator"
    _target_: str = knob("ladder_core.generation.factory.policy_backend",
                         "Builder called with these fields and `run_cfg` (any callable returning a TextGenerator).")
    model: Optional[str] = knob(None, "The generator's model (transformers/vllm: path or hub id; openai: name).")
    base_url: Optional[str] = knob(None, "OpenAI-compatible endpoint (openai).")
    api_key_env: str = knob("OPENAI_API_KEY", "Environment variable holding the API key (may be unset locally).")
    max_new_tokens: int = knob(1024, "Longest generator reply, in tokens.", ge=1)
    top_p: float = knob(1.0, "Nucleus sampling.", gt=0, le=1)
    batch_size: int = knob(16, "Sequences per transformers generate call.", ge=1)
    dtype: str = knob("auto", "torch dtype of a separate transformers/vLLM generator model.")
    chat_template: Optional[bool] = knob(None, "Chat template for a separate model (null = the tokenizer's).")
    gpu_memory_utilization: float = knob(0.85, "GPU memory share of a vLLM generator.", gt=0, le=1)
    request_timeout_s: float = knob(120.0, "Deadline of one request (openai).", gt=0)
    max_concurrency: int = knob(8, "Requests in flight (openai).", ge=1)
    max_retries: int = knob(4, "Retries of a failed request (openai).", ge=0)


@dataclass
class LadderConfig:
    """The whole run config (``domain`` comes from the chosen plugin's own node)."""

    seed: int = 0
    run_dir: str = "${hydra:runtime.output_dir}"
    domain: Any = None
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    variants: VariantsConfig = field(default_factory=VariantsConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    plugin_deadlines: PluginDeadlinesConfig = field(default_factory=PluginDeadlinesConfig)
    curriculum: CurriculumConfig = field(default_factory=CurriculumConfig)
    ttrl: TTRLConfig = field(default_factory=TTRLConfig)
    decontamination: DecontaminationConfig = field(default_factory=DecontaminationConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)


#: The sections of :class:`LadderConfig` with their classes, in documentation order.
SECTIONS: dict[str, type] = {
    "pipeline": PipelineConfig, "evaluation": EvaluationConfig, "variants": VariantsConfig,
    "reward": RewardConfig, "plugin_deadlines": PluginDeadlinesConfig, "curriculum": CurriculumConfig,
    "ttrl": TTRLConfig, "decontamination": DecontaminationConfig, "report": ReportConfig,
    "trainer": TrainerConfig, "model": ModelConfig, "generator": GeneratorConfig,
}

SCHEMA_NAME = "ladder_schema"


def schema_node() -> Any:
    """The root schema as an OmegaConf node, writable (``CurriculumConfig`` is frozen, its node need not be)."""
    from omegaconf import OmegaConf

    node = OmegaConf.structured(LadderConfig)
    OmegaConf.set_readonly(node.curriculum, False)
    return node


def register_schema() -> None:
    """Store the schema as ``ladder_schema`` (the first default of ``conf/config.yaml``)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(name=SCHEMA_NAME, node=schema_node(), provider="ladder_core")


def check_config(cfg: Any) -> dict[str, Any]:
    """Every section of a composed config as its dataclass; the first bad value raises :class:`ConfigError`.

    Types were checked during composition; this checks ranges, choices and
    rules between keys, and resolves each section (so a bad interpolation,
    such as a domain without an embedded model, fails here too).
    """
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    out = {}
    for key, cls in SECTIONS.items():
        try:
            node = cfg[key]
            data = OmegaConf.to_container(node, resolve=True, throw_on_missing=True) if OmegaConf.is_config(node) \
                else node
            out[key] = coerce_node(cls, data, where=key)
        except ConfigError:
            raise
        except OmegaConfBaseException as exc:
            full_key = getattr(exc, "full_key", None) or key
            raise ConfigError(full_key, None, "", message=f"{full_key}: {str(exc).splitlines()[0]}") from None
        except (ValueError, TypeError) as exc:  # a section's own checks (CurriculumConfig's name their keys)
            raise ConfigError(key, None, "", message=str(exc)) from None
    return out


# ---------------------------------------------------------------------------------------- docs
def _type_name(hint: Any) -> str:
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union and type(None) in args:
        return _type_name(next(a for a in args if a is not type(None))) + " or null"
    if origin in (list, List):
        return f"list of {_type_name(args[0])}"
    if origin in (dict, Dict):
        return f"map of {_type_name(args[1])}"
    return getattr(hint, "__name__", str(hint)).replace("Any", "any")


def _default_text(f: dataclasses.Field) -> str:
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:  # type: ignore[misc]
        value = f.default_factory()  # type: ignore[misc]
    else:
        return "required"
    if value == REQUIRED:
        return "required"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(map(str, value)) + "]"
    return str(value)


def field_rows(cls: type) -> list[tuple[str, str, str, str, str]]:
    """``(key, type, default, allowed, description)`` for every field of a section class."""
    hints = typing.get_type_hints(cls)
    rows = []
    for f in dataclasses.fields(cls):
        doc = (f.metadata or {}).get("doc", "")
        rows.append((f.name, _type_name(hints[f.name]), _default_text(f), allowed_text(f.metadata or {}), doc))
    return rows


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def reference_markdown() -> str:
    """The generated key reference of ``docs/configuration.md`` (between its marker comments)."""
    lines = []
    for key, cls in SECTIONS.items():
        summary = (cls.__doc__ or "").strip().splitlines()[0]
        lines += [f"### `{key}`", "", _cell(summary), "", "| key | type | default | allowed | meaning |",
                  "|---|---|---|---|---|"]
        for name, kind, default, allowed, doc in field_rows(cls):
            lines.append(f"| `{key}.{name}` | {kind} | `{_cell(default)}` | {_cell(allowed)} | {_cell(doc)} |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


DOC_BEGIN = "<!-- BEGIN GENERATED: python -m ladder_core.schema -->"
DOC_END = "<!-- END GENERATED -->"


def doc_section(markdown: str) -> str:
    """The generated part of a ``docs/configuration.md`` text (between the markers)."""
    start = markdown.index(DOC_BEGIN) + len(DOC_BEGIN)
    return markdown[start:markdown.index(DOC_END)].strip("\n") + "\n"


def _main(argv: Sequence[str]) -> int:
    """``python -m ladder_core.schema [--write docs/configuration.md]``: print or rewrite the reference."""
    from pathlib import Path

    text = reference_markdown()
    if len(argv) == 2 and argv[0] == "--write":
        path = Path(argv[1])
        old = path.read_text()
        start, end = old.index(DOC_BEGIN) + len(DOC_BEGIN), old.index(DOC_END)
        path.write_text(old[:start] + "\n" + text + old[end:])
    else:
        print(text, end="")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(_main(sys.argv[1:]))
