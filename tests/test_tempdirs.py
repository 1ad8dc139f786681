"""Temporary folders of killed runs are removed by the next run with the same prefix, and nothing else is."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from repose_tf.tempdirs import owned_temp_dir, remove_orphans


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_only_dead_runs_folders_of_the_prefix_go(tmp_path: Path):
    dead = _dead_pid()
    orphan = tmp_path / f".toy-train.{dead}.abc.tmp"
    keep = [tmp_path / f".toy-train.{os.getppid()}.abc.tmp",  # a live process's
            tmp_path / f".toy-test.{dead}.abc.tmp",  # another prefix
            tmp_path / ".toy-train.notapid.tmp", tmp_path / "toy-train.1.tmp"]
    for path in (orphan, *keep):
        path.mkdir()
    (orphan / "00000").write_bytes(b"partial shard")
    made = owned_temp_dir(tmp_path, ".toy-train")
    assert made.name.startswith(f".toy-train.{os.getpid()}.") and made.name.endswith(".tmp") and made.is_dir()
    assert not orphan.exists() and all(path.exists() for path in keep)
    assert remove_orphans(tmp_path, ".toy-train") == []  # its own folder is never an orphan


def test_kill_minus_9_during_convert_then_rerun_cleans_up(tmp_path: Path):
    code = "import sys; from repose_tf.cli import main; sys.exit(main(sys.argv[1:]))"
    command = [sys.executable, "-c", code, "convert", "synthetic", "--workers", "1", "--out", str(tmp_path),
               "--no-progress"]
    run = subprocess.Popen([*command, "--count", "5000"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".synthetic-train.*.tmp/00000")) and time.monotonic() < deadline:
        time.sleep(0.2)
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert len(list(tmp_path.glob(".synthetic-train.*.tmp"))) == 1  # what the killed run left
    subprocess.run([*command, "--count", "2"], check=True, capture_output=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["synthetic-train-00000-of-00001.tfrecord",
                                                          "synthetic-train.json"]
