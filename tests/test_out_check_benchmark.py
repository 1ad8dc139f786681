"""``benchmarks/out_check.py``: every long benchmark refuses an ``--out`` it cannot write before any work."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("script", ["quickstart_precision", "quickstart_recipes", "precision", "batch_norm",
                                    "latency", "serving_profile"])
def test_an_out_that_cannot_be_written_is_refused_before_any_work(script: str, tmp_path: Path) -> None:
    # A file where the folder should be: the long benchmarks stop at once with a usage error, not at the end.
    blocker = tmp_path / "file"
    blocker.write_text("")
    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{script}.py"), "--out",
                           str(blocker / "result.md")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "--out" in done.stderr and "Traceback" not in done.stderr, done.stderr
