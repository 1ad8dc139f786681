"""``benchmarks/ablation.py --smoke``: two networks train and score, and the report and results have every column."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
COLUMNS = ["variant", "what (paper's equivalent)", "params", "GFLOPs", "PCK@0.2 all", "PCK@0.2 occluded",
           "PCK@0.1 all", "PCK@0.1 occluded", "minutes"]
RUN_KEYS = ["pck0.2_all", "pck0.2_occluded", "pck0.1_all", "pck0.1_occluded", "final_loss", "train_seconds",
            "first_step_seconds", "step_seconds", "eval_seconds"]
SMOKE_VARIANTS = ["no_updates", "sequential"]


def _table(text: str, heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after ``heading``, header row first, separator dropped."""
    lines = text.split(heading, 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [rows[0], *rows[2:]]


def test_smoke_run_writes_the_report_json_and_plots(tmp_path: Path) -> None:
    out = tmp_path / "ablation.md"
    proc = subprocess.run([sys.executable, "benchmarks/ablation.py", "--smoke", "--out", str(out),
                           "--data-dir", str(tmp_path / "data")], cwd=REPO, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "estimated total:" in proc.stderr + proc.stdout

    text = out.read_text()
    assert "`python benchmarks/ablation.py --smoke --out" in text
    for fact in ("cores", "TensorFlow", "load average", "synthetic training people", "3 steps of batch 4",
                 "seeds 0", "are occluded"):
        assert fact in text, fact
    header, *rows = _table(text, "## Results")
    assert header == COLUMNS
    assert [r[0] for r in rows] == SMOKE_VARIANTS
    for row in rows:
        assert row[2].endswith("M")
        numbers = [float(row[2][:-1]), float(row[3]), *map(float, row[4:])]
        assert all(math.isfinite(v) for v in numbers), row
        assert all(0.0 <= v <= 100.0 for v in numbers[2:6]), row
    assert "4×4 (paper 16×16)" in rows[1][1]
    paper_header, *paper_rows = _table(text, "## The paper's numbers")
    assert paper_header[:4] == ["variant", "paper's setting", "LSP PCK@0.2", "MPII PCKh@0.5"]
    assert paper_rows[1][2:4] == ["85.82", "84.94"]
    assert text.count("<!--") == 1 and "## Reading\n\n<!-- reading: written after the measured run -->" in text

    assets = tmp_path / "ablation"
    for plot in ("pck0.2.png", "pck0.1.png"):
        assert (assets / plot).stat().st_size > 0
        assert f"(ablation/{plot})" in text
    results = json.loads((assets / "results.json").read_text())
    assert 0.0 < results["data"]["occluded_fraction"] < 1.0
    assert list(results["variants"]) == SMOKE_VARIANTS
    for key, variant in results["variants"].items():
        assert variant["params"] > 0 and variant["flops"] > 0, key
        (run,) = variant["runs"]
        assert run["seed"] == 0 and run["steps"] == 3 and run["diverged"] is None
        assert all(math.isfinite(run[k]) for k in RUN_KEYS), run
        assert run["joints_all"] == run["joints_occluded"] + run["joints_visible"] > 0
