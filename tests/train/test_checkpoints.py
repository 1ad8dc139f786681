"""Checkpoints: atomic layout, the latest pointer, pruning, leftovers of a kill, config checks, restore."""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest

from repose_tf.config import get_config
from repose_tf.train.checkpoints import (
    CheckpointError,
    CheckpointWriter,
    check_same_network,
    find_checkpoint,
    latest_checkpoint,
    restore,
)

CONFIG = get_config("tiny")


def _small_model(seed: int) -> keras.Model:
    """A stand-in network (checkpointing does not depend on the architecture)."""
    keras.utils.set_random_seed(seed)
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(3)(keras.layers.BatchNormalization()(x)))
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    return model


def _trained(seed: int, steps: int) -> keras.Model:
    model = _small_model(seed)
    rng = np.random.default_rng(seed)
    model.fit(rng.random((8, 4)), rng.random((8, 3)), epochs=steps, batch_size=8, verbose=0)
    return model


def test_save_restore_weights_and_optimizer(tmp_path: Path) -> None:
    model = _trained(0, 3)
    writer = CheckpointWriter(tmp_path, CONFIG, keep=2)
    path = writer.save(3, model, model.optimizer, {"learning_rate": 1e-2, "loss": 0.5})
    assert path == tmp_path / "ckpt-000000003"
    assert (tmp_path / "latest").read_text().strip() == "ckpt-000000003"
    assert json.loads((path / "state.json").read_text())["step"] == 3
    assert json.loads((path / "config.json").read_text())["name"] == "tiny"

    fresh = _small_model(1)
    fresh.optimizer.build(fresh.trainable_variables)
    info = latest_checkpoint(tmp_path)
    restore(info, fresh, fresh.optimizer)
    assert int(fresh.optimizer.iterations.numpy()) == 3
    for a, b in zip(model.weights, fresh.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(model.optimizer.variables, fresh.optimizer.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert info.config() == CONFIG


def test_keeps_the_newest_and_ignores_partial_writes(tmp_path: Path) -> None:
    model = _trained(0, 1)
    writer = CheckpointWriter(tmp_path, CONFIG, keep=2)
    for step in (1, 2, 3):
        writer.save(step, model, model.optimizer)
    assert sorted(p.name for p in tmp_path.glob("ckpt-*")) == ["ckpt-000000002", "ckpt-000000003"]
    # What a kill during a save leaves: a temporary directory, and a checkpoint without state.json.
    (tmp_path / ".ckpt-000000004.tmpabc").mkdir()
    (tmp_path / "ckpt-000000005").mkdir()
    assert latest_checkpoint(tmp_path).step == 3
    assert find_checkpoint(tmp_path.parent / tmp_path.name).step == 3
    # A dangling pointer falls back to the newest complete checkpoint.
    (tmp_path / "latest").write_text("ckpt-000000009\n")
    assert latest_checkpoint(tmp_path).step == 3
    # The next run removes the leftovers of the kill.
    CheckpointWriter(tmp_path, CONFIG)
    assert not list(tmp_path.glob(".ckpt-*"))


def test_run_directory_and_single_checkpoint_are_found(tmp_path: Path) -> None:
    model = _trained(0, 1)
    CheckpointWriter(tmp_path / "run" / "checkpoints", CONFIG).save(7, model, model.optimizer)
    assert find_checkpoint(tmp_path / "run").step == 7
    assert find_checkpoint(tmp_path / "run" / "checkpoints" / "ckpt-000000007").step == 7
    with pytest.raises(CheckpointError, match="no complete checkpoint"):
        find_checkpoint(tmp_path)


def test_another_network_is_refused_with_the_differences(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError,
                       match=r"network 'repose', not of 'tiny'.*width: 64 in the checkpoint, 32 asked"):
        check_same_network(CONFIG, get_config("repose"), tmp_path)
    check_same_network(CONFIG, get_config("tiny"), tmp_path)


def test_restore_into_a_mismatched_model_is_a_clear_error(tmp_path: Path) -> None:
    model = _trained(0, 1)
    CheckpointWriter(tmp_path, CONFIG).save(1, model, model.optimizer)
    x = keras.Input((4,))
    other = keras.Model(x, keras.layers.Dense(5)(x))
    other.compile(optimizer="adam", loss="mse")
    other.optimizer.build(other.trainable_variables)
    with pytest.raises(CheckpointError, match="cannot load its weights"):
        restore(latest_checkpoint(tmp_path), other, other.optimizer)


def test_broken_config_file_is_named(tmp_path: Path) -> None:
    model = _trained(0, 1)
    path = CheckpointWriter(tmp_path, CONFIG).save(1, model, model.optimizer)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="config.json: not a RePose config"):
        latest_checkpoint(tmp_path).config()
