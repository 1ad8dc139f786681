"""``benchmarks/quickstart_scaling.py --dir``: the table of finished runs, the log2 fit and its extrapolation."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "quickstart_scaling.py"


def _run_dir(root: Path, name: str, steps: int, minutes: float, pck: float, smoke: bool = False,
             learning_rate: float = 5e-3) -> Path:
    """A quickstart output directory holding only the quickstart.json fields the script reads."""
    d = root / name
    d.mkdir()
    recipe = {"steps": steps, "batch_size": 8, "learning_rate": learning_rate, "schedule": "cosine"}
    (d / "quickstart.json").write_text(json.dumps({
        "preset": {"name": "tiny"}, "plan": {"smoke": smoke, "flip": True, "decode": "dark", "recipe": recipe},
        "steps": steps, "pck": pck, "n_val": 300, "seconds": {"total": minutes * 60, "train": minutes * 60 - 50},
        "machine": {"load_average_at_start": 0.2}}))
    return d


def _script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, cwd=REPO)


def test_fit_and_extrapolation_on_exact_log_linear_runs(tmp_path):
    # PCK = 20 + 10 log2(minutes): 80 % at 2^6 = 64 minutes.
    dirs = [_run_dir(tmp_path, f"r{m}", steps, m, 20 + 10 * math.log2(m))
            for m, steps in ((8, 1000), (16, 2000), (32, 4000))]
    out = tmp_path / "scaling.md"
    run = _script(*(a for d in dirs for a in ("--dir", str(d))), "--out", str(out))
    assert run.returncode == 0, run.stderr
    text = out.read_text()
    rows = [line for line in text.splitlines() if line.startswith("| `")]
    assert [row.split("|")[2].strip() for row in rows] == ["1000", "2000", "4000"]
    assert "PCK = 20.0 + 10.00 × log2(minutes)" in text
    assert "reaches 80 % after about 64 minutes" in text
    assert "Residuals of the rows: +0.0, +0.0, +0.0 points." in text
    assert "`tiny` network and recipe (batch 8, Adam 0.005, cosine schedule" in text
    assert "on the 300 held-out synthetic people" in text


def test_refuses_smoke_missing_broken_and_mixed_runs(tmp_path):
    smoke = _run_dir(tmp_path, "smoke", 2, 0.5, 1.0, smoke=True)
    run = _script("--dir", str(smoke), "--out", str(tmp_path / "x.md"))
    assert run.returncode != 0 and "a --smoke run, not a measurement" in run.stderr
    run = _script("--dir", str(tmp_path / "missing"), "--out", str(tmp_path / "x.md"))
    assert run.returncode != 0 and "no quickstart.json" in run.stderr
    broken = tmp_path / "broken"
    broken.mkdir()
    for text in ("{not json", json.dumps({"plan": {}, "steps": 5})):
        (broken / "quickstart.json").write_text(text)
        run = _script("--dir", str(broken), "--out", str(tmp_path / "x.md"))
        assert run.returncode != 0 and "not a quickstart summary" in run.stderr and "Traceback" not in run.stderr
    other = [_run_dir(tmp_path, "lr5e-3", 1000, 8, 40.0), _run_dir(tmp_path, "lr1e-2", 2000, 16, 50.0,
                                                                   learning_rate=1e-2)]
    run = _script(*(a for d in other for a in ("--dir", str(d))), "--out", str(tmp_path / "x.md"))
    assert run.returncode != 0 and "differ in more than their steps" in run.stderr
    run = _script("--out", str(tmp_path / "x.md"))
    assert run.returncode == 2 and "give --steps N or --dir DIR" in run.stderr
    assert not (tmp_path / "x.md").exists()
