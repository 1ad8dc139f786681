"""``repose train`` and ``repose evaluate`` from the command line: kill -9 and resume, errors as one line."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import keras
import pytest

from repose_tf.cli import main
from repose_tf.model.builder import build_model
from repose_tf.train.checkpoints import CheckpointWriter, latest_checkpoint
from tests.train.helpers import TEST_CONFIG, write_people

TIMEOUT = 600  # seconds for one training process


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path | str]:
    root = tmp_path_factory.mktemp("cli")
    config = root / "config.json"
    config.write_text(TEST_CONFIG.to_json())
    return {"root": root, "config": config, "data": write_people(root / "data", "train", 24, 0)}


def _command(setup: dict, out: Path, steps: int) -> list[str]:
    return [sys.executable, "-c", "import sys; from repose_tf.cli import main; sys.exit(main(sys.argv[1:]))",
            "train", "--out", str(out), "--config", str(setup["config"]),
            "--data", str(setup["data"]), "--steps", str(steps), "--batch", "4", "--checkpoint-every", "5",
            "--pck-every", "0", "--strategy", "default", "--no-progress"]


def test_kill_minus_9_then_rerun_resumes_at_the_checkpoint(setup: dict) -> None:
    out = setup["root"] / "killed"
    command = _command(setup, out, 40)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
    try:
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            info = latest_checkpoint(out / "checkpoints")
            if info is not None and info.step >= 10:
                break
            assert first.poll() is None, first.communicate()[0][-3000:]
            time.sleep(0.2)
        else:
            pytest.fail("no checkpoint within the time limit")
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate(timeout=60)
    assert first.returncode == -signal.SIGKILL
    killed_at = latest_checkpoint(out / "checkpoints")
    assert killed_at is not None and killed_at.step % 5 == 0 and killed_at.step < 40

    second = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    assert f"from {killed_at.path.name}: step {killed_at.step}, learning rate 0.001" in second.stdout
    assert latest_checkpoint(out / "checkpoints").step == 40
    with (out / "history.csv").open(newline="") as f:
        steps = [int(row["step"]) for row in csv.DictReader(f)]
    assert steps == list(range(5, 45, 5))  # rows past the checkpoint were dropped, none repeated


@pytest.mark.parametrize("change, message", [
    ({"--data": "nothing-*.tfrecord"}, "no files match the TFRecord pattern 'nothing-*.tfrecord'"),
    ({"--config": None, "--preset": "repose"}, "holds a checkpoint of network 'tiny_test', not of 'repose'"),
    ({"--lr": "-1"}, None),
])
def test_errors_are_one_line(setup: dict, change: dict, message: str | None, capsys: pytest.CaptureFixture,
                             tmp_path: Path) -> None:
    out = tmp_path / "run"
    # A checkpoint of the test network (the "other preset" case); its weights are never loaded.
    x = keras.Input((2,))
    stand_in = keras.Model(x, keras.layers.Dense(1)(x))
    stand_in.compile(optimizer="adam")
    stand_in.optimizer.build(stand_in.trainable_variables)
    CheckpointWriter(out / "checkpoints", TEST_CONFIG).save(5, stand_in, stand_in.optimizer)

    args = _command(setup, out, 10)[3:]
    for key, value in change.items():
        i = args.index(key) if key in args else None
        if value is None:
            del args[i:i + 2]
        elif i is None:
            args += [key, value]
        else:
            args[i + 1] = value
    if message is None:
        with pytest.raises(SystemExit):
            main(args)
        assert "must be > 0" in capsys.readouterr().err
        return
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_paper_defaults_need_converted_data(tmp_path: Path, capsys: pytest.CaptureFixture,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["train", "--out", "run"]) == 2
    assert "convert LSP, LSPET and MPII into tfrecords/ first" in capsys.readouterr().err


def test_evaluate_cli_writes_the_table_json_and_predictions(setup: dict, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    model = build_model(TEST_CONFIG)
    model.save(tmp_path / "model.keras")
    (tmp_path / "config.json").write_text(TEST_CONFIG.to_json())
    assert main(["evaluate", "--model", str(tmp_path / "model.keras"), "--data", str(setup["data"]), "--limit", "6",
                 "--json", str(tmp_path / "eval" / "report.json"), "--no-progress", "--decode", "quarter"]) == 0
    printed = capsys.readouterr().out
    assert "Head" in printed and "Mean" in printed and "synthetic PCK@0.2 (n=6)" in printed
    assert (tmp_path / "eval" / "report.json").is_file()
    assert (tmp_path / "eval" / "predictions-synthetic.npy").is_file()
    # A rerun does not silently replace the earlier report and predictions (checked before the model loads).
    again = ["evaluate", "--model", str(tmp_path / "nowhere"), "--data", str(setup["data"]),
             "--json", str(tmp_path / "eval" / "report.json")]
    assert main(again) == 2
    assert (f"{tmp_path / 'eval' / 'report.json'}, {tmp_path / 'eval' / 'predictions-synthetic.npy'} exist(s) from "
            "an earlier evaluation: pass --overwrite") in capsys.readouterr().err
    assert main([*again, "--overwrite"]) == 2
    assert "no such model" in capsys.readouterr().err
