"""GRPO rollout throughput: plain TRL defaults vs ladder's generation settings, each in its own process.

A randomly initialised Llama-3.2-3B-shaped model (no weights needed) and a
synthetic 128,256-token word-level tokenizer; every completion is forced to
``--completion-tokens`` tokens (transformers' ``min_new_tokens``, vLLM's
``min_tokens``) so modes do the same work. Modes:

* ``trl_default``: ``GRPOTrainer`` with TRL's defaults (HF ``generate``);
* ``ladder_hf``: ladder's trainer with the same HF ``generate`` (the cost of ladder's overrides);
* ``ladder_paged``: ladder's trainer (``LadderGRPOTrainer``: curriculum
  sampler, dynamic sampling off for a fair count) with transformers'
  continuous batching (``use_transformers_continuous_batching``);
* ``ladder_vllm``: the same with ``use_vllm`` colocated (only when vLLM is installed).

Each mode runs in a fresh process (a device-side assert poisons a CUDA
context), does one warm-up step, then times ``--steps`` steps. Prints a table
and writes ``benchmarks/results/gpu_grpo_throughput.json``.

    python benchmarks/gpu_grpo_throughput.py                # on a GPU machine
    python benchmarks/gpu_grpo_throughput.py --tiny --steps 1      # CPU smoke run of every non-vLLM mode
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "gpu_grpo_throughput.json"


def build_model_dir(path: Path, tiny: bool) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    vocab_size = 512 if tiny else 128256
    vocab = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    vocab.update({f"w{i}": i for i in range(4, vocab_size)})
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token="<pad>", bos_token="<s>", eos_token="</s>",
                                        unk_token="<unk>")
    if tiny:
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                             num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024)
    else:
        config = LlamaConfig(vocab_size=vocab_size, hidden_size=3072, intermediate_size=8192, num_hidden_layers=28,
                             num_attention_heads=24, num_key_value_heads=8, max_position_embeddings=4096,
                             rope_theta=500000.0, tie_word_embeddings=True)
    config.initializer_range = 0.006  # random bf16 weights with the default range can overflow to NaN
    config.pad_token_id, config.bos_token_id, config.eos_token_id = 0, 1, 2
    torch.manual_seed(0)
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = LlamaForCausalLM(config).to(torch.bfloat16 if torch.cuda.is_available() else torch.float32)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def run_mode(mode: str, model_dir: str, steps: int, prompts: int, group: int, tokens: int, prompt_tokens: int) -> dict:
    """Runs in a child process: time ``steps`` GRPO steps after one warm-up step."""
    import random

    import torch
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    cuda = torch.cuda.is_available()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.bfloat16 if cuda else torch.float32)
    rng = random.Random(0)
    rows = [{"prompt": " ".join(f"w{rng.randrange(4, 500)}" for _ in range(prompt_tokens)), "problem_id": str(i),
             "problem_text": str(i), "node_id": str(i), "depth": 0} for i in range(max(64, prompts * 4))]
    dataset = Dataset.from_list(rows)

    def reward(prompts, completions, **kw):
        return [rng.random() for _ in completions]

    common = dict(output_dir=tempfile.mkdtemp(), max_steps=steps + 1, per_device_train_batch_size=prompts * group,
                  num_generations=group, max_completion_length=tokens, learning_rate=1e-6, beta=0.0,
                  logging_steps=1, report_to="none", save_strategy="no", bf16=cuda, use_cpu=not cuda,
                  gradient_checkpointing=cuda, remove_unused_columns=False,
                  # vLLM's SamplingParams calls it min_tokens; transformers' generate min_new_tokens
                  generation_kwargs={"min_tokens" if mode == "ladder_vllm" else "min_new_tokens": tokens})
    if mode != "trl_default":
        common.update(use_transformers_continuous_batching=(mode == "ladder_paged"), use_vllm=(mode == "ladder_vllm"))
    args = GRPOConfig(**common)
    times: list[float] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.t = time.perf_counter()

        def on_step_end(self, *a, **k):
            if cuda:
                torch.cuda.synchronize()
            times.append(time.perf_counter() - self.t)

    if mode == "trl_default":
        trainer = GRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=dataset,
                              processing_class=tokenizer, callbacks=[Timer()])
    else:
        from ladder_core.difficulty.config import CurriculumConfig
        from ladder_core.difficulty.sampler import CurriculumSampler
        from ladder_core.records import TreeNode
        from ladder_core.training.grpo import LadderGRPOTrainer, TrainingMonitor

        nodes = [TreeNode(r["node_id"], None, 0, r["node_id"]) for r in rows]
        curriculum = CurriculumSampler(nodes, CurriculumConfig.from_dict({"mode": "uniform"}), seed=0)
        monitor = TrainingMonitor(curriculum=curriculum, depth_of={})
        trainer = LadderGRPOTrainer(model=model, reward_funcs=reward, args=args, train_dataset=dataset,
                                    processing_class=tokenizer, callbacks=[Timer()], curriculum=curriculum,
                                    monitor=monitor, dynamic_sampling=False)
    trainer.train()
    timed = times[1:]  # drop the warm-up step
    completions = prompts * group
    return {
        "mode": mode, "steps": len(timed), "completions_per_step": completions, "completion_tokens": tokens,
        "seconds_per_step": sum(timed) / len(timed),
        "completion_tokens_per_s": completions * tokens * len(timed) / sum(timed),
        "peak_gpu_gb": (torch.cuda.max_memory_allocated() / 2**30) if cuda else None,
        "device": torch.cuda.get_device_name() if cuda else "cpu",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="a tiny model (CPU smoke run)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--prompts", type=int, default=None, help="prompts per step (8; 2 with --tiny)")
    parser.add_argument("--group", type=int, default=None, help="completions per prompt (8; 4 with --tiny)")
    parser.add_argument("--completion-tokens", type=int, default=None, help="512; 16 with --tiny")
    parser.add_argument("--prompt-tokens", type=int, default=None, help="128; 16 with --tiny")
    parser.add_argument("--modes", default="trl_default,ladder_hf,ladder_paged,ladder_vllm")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--model-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help=f"default {RESULTS} (a _tiny suffix with --tiny)")
    args = parser.parse_args()
    for key, full, tiny in (("prompts", 8, 2), ("group", 8, 4), ("completion_tokens", 512, 16),
                            ("prompt_tokens", 128, 16)):
        if getattr(args, key) is None:
            setattr(args, key, tiny if args.tiny else full)
    if args.child:
        result = run_mode(args.child, args.model_dir, args.steps, args.prompts, args.group, args.completion_tokens,
                          args.prompt_tokens)
        print("RESULT " + json.dumps(result))
        return
    modes = [m for m in args.modes.split(",") if m]
    if "ladder_vllm" in modes and importlib.util.find_spec("vllm") is None:
        print("vllm not installed: skipping ladder_vllm", file=sys.stderr)
        modes.remove("ladder_vllm")
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_model_dir(Path(tmp) / "model", args.tiny)
        results = []
        for mode in modes:
            cmd = [sys.executable, __file__, "--child", mode, "--model-dir", str(model_dir), "--steps",
                   str(args.steps), "--prompts", str(args.prompts), "--group", str(args.group),
                   "--completion-tokens", str(args.completion_tokens), "--prompt-tokens", str(args.prompt_tokens)]
            proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
            line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
            if line is None:
                print(f"{mode}: failed (exit {proc.returncode})\n{proc.stderr[-3000:]}", file=sys.stderr)
                results.append({"mode": mode, "error": proc.stderr[-500:]})
                continue
            results.append(json.loads(line[len("RESULT "):]))
    base = next((r for r in results if r.get("mode") == "trl_default" and "error" not in r), None)
    print(f"{'mode':<14} {'s/step':>8} {'tok/s':>10} {'x TRL':>6} {'peak GB':>8}")
    for r in results:
        if "error" in r:
            print(f"{r['mode']:<14} failed")
            continue
        speedup = r["completion_tokens_per_s"] / base["completion_tokens_per_s"] if base else float("nan")
        r["speedup_vs_trl_default"] = speedup
        peak = f"{r['peak_gpu_gb']:.1f}" if r["peak_gpu_gb"] is not None else "-"
        print(f"{r['mode']:<14} {r['seconds_per_step']:>8.2f} {r['completion_tokens_per_s']:>10.0f} "
              f"{speedup:>6.2f} {peak:>8}")
    out = Path(args.out) if args.out else (RESULTS.with_name(RESULTS.stem + "_tiny.json") if args.tiny else RESULTS)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"args": vars(args), "results": results}, indent=2))
    if any("error" in r for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
