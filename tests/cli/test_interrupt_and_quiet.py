"""The ``repose`` process as a user's terminal sees it: Ctrl-C ends it promptly with one line, and
TensorFlow's own log lines stay hidden unless ``--verbose`` (issue 16 item 5 and its noise list)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPOSE = [sys.executable, "-m", "repose_tf.cli"]


@pytest.mark.parametrize("after", [0.0, 0.7, 1.5, 2.5])
def test_ctrl_c_during_convert_synthetic_ends_promptly_with_one_line(after: float, tmp_path: Path) -> None:
    """SIGINT to the whole process group, as a terminal's Ctrl-C sends it to the command and its pool
    workers, at several moments after the workers started writing."""
    # As from a terminal, where a command starts with SIGINT at its default.  A test run started in the
    # background by a non-interactive shell (`pytest &`, nohup) has SIGINT ignored, a child would inherit
    # that through exec and never see the Ctrl-C; a handler (unlike SIG_IGN) is reset to the default at exec.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        run = subprocess.Popen([*REPOSE, "convert", "synthetic", "--count", "20000", "--workers", "2",
                                "--out", str(tmp_path), "--no-progress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".synthetic-train.*.tmp/00000")) and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(after)
    os.killpg(run.pid, signal.SIGINT)
    sent = time.monotonic()
    try:
        _, err = run.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        pytest.fail(f"still running 30 s after Ctrl-C: {run.communicate()[1][-2000:]}")
    assert time.monotonic() - sent < 10
    assert run.returncode == 130
    assert err.strip() == "repose convert: interrupted", err
    assert list(tmp_path.iterdir()) == []  # no shard, no temporary folder


def test_tensorflow_log_lines_only_with_verbose(tmp_path: Path) -> None:
    command = [*REPOSE, "convert", "synthetic", "--count", "2", "--out", str(tmp_path), "--no-progress"]
    quiet = subprocess.run(command, capture_output=True, text=True, check=True)
    assert quiet.stderr == ""
    assert quiet.stdout.startswith("synthetic-train: wrote 2 record(s)")
    verbose = subprocess.run([*command, "--verbose"], capture_output=True, text=True, check=True)
    assert "All log messages before absl::InitializeLog()" in verbose.stderr
