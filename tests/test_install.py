"""What ``pip install`` would do: the local tensorflow-cpu on a fresh machine, nothing TF on Colab.

pip resolves without installing (``--dry-run --report``), so these tests touch no environment.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FORBIDDEN = {"tensorflow", "tensorflow-addons", "keras-cv", "keras-core"}


def _resolve(tmp_path: Path, target: str, *extra: str) -> dict[str, dict]:
    report = tmp_path / "report.json"
    subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--disable-pip-version-check",
                    "--report", str(report), *extra, target], check=True, cwd=REPO, timeout=600,
                   stdout=subprocess.DEVNULL)
    items = json.loads(report.read_text())["install"]
    return {i["metadata"]["name"].lower().replace("_", "-"): i for i in items}


def test_fresh_machine_takes_tensorflow_cpu_2_21_and_nothing_dead(tmp_path: Path) -> None:
    plan = _resolve(tmp_path, ".[cpu,deploy]", "--ignore-installed")  # the README's main-job install
    assert plan["tensorflow-cpu"]["metadata"]["version"] == "2.21.0"
    assert not FORBIDDEN & set(plan)


def test_install_without_extras_leaves_an_installed_tensorflow_alone(tmp_path: Path) -> None:
    # Colab: TensorFlow is preinstalled; the notebooks' install must not add or replace any TF package.
    plan = _resolve(tmp_path, ".[deploy]")
    assert not {n for n in plan if n.startswith(("tensorflow", "keras", "tf-"))}


def test_ci_runs_exactly_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m pip install")]
    main_job, tests = commands[:2]
    assert main_job.endswith("repose quickstart") and tests.endswith("python3 -m pytest -q tests")
    assert (REPO / ".ci" / "run").read_text().strip().splitlines()[-1] == tests
