"""`repose export`: the SavedModel run of the shared artifacts, versions, and argument errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.export.artifacts import keras_file, run_cli, saved_model


def test_export_writes_version_1_and_reports_the_check(tmp_path_factory: pytest.TempPathFactory):
    base, run = saved_model(tmp_path_factory)
    assert run.code == 0
    assert run.stdout.startswith(f"wrote {base / '1'} (float32, version 1; outputs match Keras within ")
    assert f"and {base / 'models.config'}" in run.stdout
    assert (base / "1" / "saved_model.pb").is_file()


def test_existing_version_is_a_one_line_error(tmp_path_factory: pytest.TempPathFactory,
                                              capsys: pytest.CaptureFixture):
    base, _ = saved_model(tmp_path_factory)
    run = run_cli(["export", "--model", str(keras_file(tmp_path_factory)), "--out", str(base), "--version", "1"])
    assert run.code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"repose export: error: {base / '1'} exists already; choose another --version or omit it"


@pytest.mark.parametrize("args, message", [
    (["--model", "no_such_preset"], "a .keras file or a preset name"),
    (["--model", "missing.keras"], "missing.keras: no such model file"),
    (["--model", "tiny", "--decode", "centroid"], "--decode must be one of argmax, quarter, dark"),
    (["--model", "tiny", "--config", "repose"], "does not match config 'repose'"),
    (["--model", "tiny", "--config", "nope.json"], "--config 'nope.json' is neither a preset"),
])
def test_argument_errors(args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture):
    assert run_cli(["export", *args, "--out", str(tmp_path / "out")]).code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_bad_numbers_are_refused_by_the_parser(capsys: pytest.CaptureFixture):
    with pytest.raises(SystemExit):
        run_cli(["export", "--model", "tiny", "--out", "x", "--version", "0"])
    assert "must be >= 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli(["export", "--model", "tiny", "--out", "x", "--box-margin", "-1"])
    assert "must be > 0" in capsys.readouterr().err
