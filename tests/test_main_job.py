"""`ladder +domain=integration` itself (the console script, the embedded model, the real plugin), small settings."""

import json
import subprocess
import sys
from pathlib import Path

SMALL = [
    "trainer.max_steps=3", "trainer.prompts_per_step=2", "trainer.num_generations=4", "trainer.report_to=[]",
    "evaluation.max_problems=6", "evaluation.samples=2", "evaluation.k=[1,2]",
    "variants.per_root=5", "ttrl.max_problems=1", "ttrl.max_steps=2", "ttrl.variants_per_problem=4",
]


def test_main_job_end_to_end_on_the_embedded_model(tmp_path):
    ladder = Path(sys.executable).with_name("ladder")
    run_dir = tmp_path / "run"
    out = subprocess.run([str(ladder), "+domain=integration", f"hydra.run.dir={run_dir}", *SMALL],
                         capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["domain"] == "integration"
    assert report["model"]["name"] == "integration-tiny"
    assert report["test_set"] == "tiny_hard_test" and report["train_set"] == "tiny_hard_train"
    assert report["baseline"]["n_problems"] == 6 and report["final"]["n_problems"] == 6
    assert report["training"]["steps"] == 3
    assert report["variants"]["accepted"] >= 16 * 5  # every root got its variants from the rules generator
    assert report["ttrl"]["attempted"] == 1
    assert (run_dir / "report.md").read_text().count("![") >= 3
    console = out.stdout + out.stderr
    assert console.count("{'") <= 5, "TRL's per-step metric dicts belong in the log file"
    assert "'loss'" in (run_dir / "ladder.log").read_text()
    tail = out.stdout.strip().splitlines()
    assert tail[-1] == f"report: {run_dir.resolve() / 'report.md'}"
    assert any(line.startswith("baseline ") for line in tail[-6:]) and tail[-2].startswith("after TTRL")
    config = (run_dir / "config.yaml").read_text()
    assert "tinymodel/weights" in config  # the embedded model, resolved through the plugin
