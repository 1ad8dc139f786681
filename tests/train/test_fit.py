"""``repose_tf.train.fit``: a short run learns; its files; data mixes; bad data; other networks; NaN."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from repose_tf.config import get_config
from repose_tf.data.augment import AugmentConfig
from repose_tf.data.convert.coco import convert_coco
from repose_tf.data.convert.common import ConvertOptions
from repose_tf.data.records import PersonRecord, serialize
from repose_tf.model.builder import build_model, output_names
from repose_tf.model.convert import convert_values
from repose_tf.skeleton import COCO17
from repose_tf.train import DataSource, TrainingDiverged, TrainRecipe, fit
from repose_tf.train.checkpoints import CheckpointError, latest_checkpoint
from repose_tf.train.fit import compile_for_training, training_dataset, with_records_skeleton
from repose_tf.train.strategy import dtype_policy, precision_policy
from repose_tf.train.loss import pack_targets
from tests.data.coco_people import write_coco_people
from tests.train.helpers import TEST_CONFIG, write_people

# Eight people seen again and again without augmentation (PCK is measured on the same people).
NO_AUGMENTATION = AugmentConfig(scale_range=(1.0, 1.0), max_rotation=0.0, flip_prob=0.0, channel_gain=0.0,
                                brightness=0.0, contrast=0.0)
RECIPE = TrainRecipe(steps=100, batch_size=8, learning_rate=3e-3, schedule="cosine", warmup_steps=10,
                     checkpoint_every=25, keep_checkpoints=2, pck_every=25, shuffle_buffer=16,
                     augment=NO_AUGMENTATION)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    write_people(root, "train", 8, 0)
    return root


@pytest.fixture(scope="module")
def run(data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run")
    pattern = str(data / "synthetic-train-*.tfrecord")
    fit(TEST_CONFIG, pattern, out, val_data=pattern, recipe=RECIPE, strategy="default", progress=False)
    return out


def _history(run: Path) -> list[dict[str, str]]:
    with (run / "history.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_short_fit_lowers_the_loss_and_logs_pck(run: Path) -> None:
    rows = _history(run)
    assert list(rows[0])[:3] == ["step", "learning_rate", "loss"] and list(rows[0])[-1] == "val_pck"
    assert [int(r["step"]) for r in rows] == [25, 50, 75, 100]
    loss = [float(r["loss"]) for r in rows]
    assert loss[-1] < 0.5 * loss[0]
    # PCK of the current weights on the validation records at every row (a hundred steps do not
    # get this network past a few percent; see docs/training.md).
    assert all(0.0 <= float(r["val_pck"]) <= 100.0 for r in rows)
    # One loss column per heatmap output, and the learning rate of the cosine schedule.
    assert {"pre_update_loss", "post_update_loss", "refine_8_loss", "refine_16_loss", "refine_32_loss"} <= set(rows[0])
    assert float(rows[-1]["learning_rate"]) < float(rows[0]["learning_rate"])


def test_run_directory(run: Path) -> None:
    assert sorted(p.name for p in (run / "checkpoints").glob("ckpt-*")) == ["ckpt-000000075", "ckpt-000000100"]
    assert latest_checkpoint(run / "checkpoints").step == 100
    assert get_config(TEST_CONFIG) == latest_checkpoint(run / "checkpoints").config()
    model = keras.models.load_model(run / "model.keras", compile=False)
    assert model.name == "tiny_test" and getattr(model, "optimizer", None) is None
    assert (run / "run.json").is_file() and (run / "config.json").is_file()


def test_rerun_of_a_finished_run_trains_nothing(run: Path, data: Path, tmp_path: Path) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    result = fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), copy, recipe=RECIPE, strategy="default",
                 progress=False)
    assert result.resumed_from == 100 and result.step == 100
    assert len(_history(copy)) == 4


def test_a_checkpoint_of_another_network_is_refused(run: Path, data: Path) -> None:
    with pytest.raises(CheckpointError, match=r"network 'tiny_test', not of 'tiny'.*input_size: 32 in the checkpoint"):
        fit("tiny", str(data / "synthetic-train-*.tfrecord"), run, recipe=RECIPE, strategy="default")


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(run: Path, data: Path, tmp_path: Path) -> None:
    class Poison(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
            weight = self.model.trainable_variables[0]
            weight.assign(tf.fill(weight.shape, float("nan")))

    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    longer = TrainRecipe(**{**RECIPE.to_dict(), "steps": 125, "augment": NO_AUGMENTATION})
    # NaN weights show in the loss at once, or (where the ReLU maps NaN to 0, as oneDNN's does) in the
    # weight check before the next checkpoint.
    diverged = r"(loss became nan at step 101|weight tensor\(s\) became non-finite by step 125)"
    with pytest.raises(TrainingDiverged, match=diverged + r".*ckpt-000000100 \(step 100\)"):
        fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), copy, recipe=longer, strategy="default",
            progress=False, callbacks=[Poison()])
    assert latest_checkpoint(copy / "checkpoints").step == 100


def test_weighted_data_mix(data: Path, tmp_path: Path) -> None:
    # The second source's people have no annotated keypoint: their share shows in the masks.
    write_people(tmp_path, "blank", 16, 1, annotated=np.zeros(14, np.int64))
    sources = [DataSource(str(data / "synthetic-train-*.tfrecord"), 3.0),
               DataSource(str(tmp_path / "synthetic-blank-*.tfrecord"), 1.0)]
    recipe = TrainRecipe(batch_size=16, shuffle_buffer=64)
    blank = [float(np.mean(t["mask"].numpy().sum(axis=1) == 0))
             for _, t in training_dataset(sources, TEST_CONFIG, recipe, seed=0).take(12)]
    assert 0.12 < np.mean(blank) < 0.4  # 1/4 expected


def test_data_source_parsing() -> None:
    assert DataSource.parse("a/b-*.tfrecord") == DataSource("a/b-*.tfrecord")
    assert DataSource.parse("a/b-*.tfrecord@2.5") == DataSource("a/b-*.tfrecord", 2.5)
    with pytest.raises(ValueError, match="must be a positive number"):
        DataSource.parse("a@b@x")
    with pytest.raises(ValueError, match="must be positive"):
        DataSource.parse("a@-1")


def _example(**features: tf.train.Feature) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


@pytest.mark.parametrize("kind, message", [
    ("missing", "no files match"),
    ("empty", "hold no records"),
    ("corrupt", "not a readable TFRecord"),
    ("schema", "lacks feature"),
    ("skeleton", "records use skeleton 'other' with 3 keypoints"),
])
def test_bad_training_data_is_named_before_training(kind: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / f"{kind}.tfrecord"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "corrupt":
        path.write_bytes(b"this is not a TFRecord file at all" * 4)
    elif kind == "schema":
        with tf.io.TFRecordWriter(str(path)) as w:
            w.write(_example(label=tf.train.Feature(int64_list=tf.train.Int64List(value=[1]))))
    elif kind == "skeleton":
        rec = PersonRecord(image_bytes=b"", height=8, width=8, dataset="x", image_id="x", person_index=0,
                           skeleton="other", keypoints=np.zeros((3, 2)), annotated=np.ones(3), visible=np.ones(3),
                           center=np.zeros(2), scale=1.0)
        with tf.io.TFRecordWriter(str(path)) as w:
            w.write(serialize(rec))
    with pytest.raises(ValueError, match=message) as error:
        fit(TEST_CONFIG, str(path), tmp_path / "run", recipe=RECIPE, strategy="default")
    if kind != "missing":
        assert str(path) in str(error.value) or kind == "empty"
    assert not (tmp_path / "run" / "checkpoints").exists()


def test_a_truncated_shard_is_counted_reported_and_refused_above_the_limit(
        data: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    shutil.copytree(data, tmp_path / "data")
    first = tmp_path / "data" / "synthetic-train-00000-of-00002.tfrecord"
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])  # 4 records -> 1 or 2 readable
    pattern = str(tmp_path / "data" / "synthetic-train-*.tfrecord")
    with pytest.raises(ValueError, match=r"training data: \d of 8 records usable .* more than the 1 % allowed"
                                         rf"(?s:.*){first}: unreadable after record \d"):
        fit(TEST_CONFIG, pattern, tmp_path / "refused", recipe=RECIPE, strategy="default", progress=False)
    assert not (tmp_path / "refused").exists()

    short = TrainRecipe(**{**RECIPE.to_dict(), "steps": 2, "checkpoint_every": 2, "warmup_steps": 0,
                                      "augment": NO_AUGMENTATION})
    fit(TEST_CONFIG, pattern, tmp_path / "run", recipe=short, strategy="default", progress=False,
        max_bad_fraction=0.6)
    out = capsys.readouterr().out
    records = json.loads((tmp_path / "run" / "run.json").read_text())["records"]
    lost = records["lost"]
    assert 2 <= lost <= 3 and records["total"] == 8 and records["damaged_files"][0]["file"] == str(first)
    assert f"training data: {8 - lost} of 8 records usable in 2 file(s); {lost}" in out
    assert f"skipped: {first}: unreadable after record" in out
    assert f"{lost} unreadable training records skipped (run.json)" in out
    # Without validation data the history has no val_ columns (Keras' CSVLogger added NA ones).
    header = (tmp_path / "run" / "history.csv").read_text().splitlines()[0].split(",")
    assert header[:3] == ["step", "learning_rate", "loss"] and not any(c.startswith("val_") for c in header)


def test_a_time_budget_stops_the_run_where_its_pace_allows(data: Path, tmp_path: Path,
                                                           capsys: pytest.CaptureFixture) -> None:
    endless = TrainRecipe(**{**RECIPE.to_dict(), "steps": 100_000, "augment": NO_AUGMENTATION})
    result = fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), tmp_path / "run", recipe=endless,
                 strategy="default", progress=False, time_budget=30.0)
    assert result.step == result.last_step < 100_000
    assert f"training to step {result.last_step:,}" in capsys.readouterr().out
    assert latest_checkpoint(tmp_path / "run" / "checkpoints").step == result.step
    # The cosine schedule ended where the run did: the last learning rate is the floor, 1 % of the base.
    assert float(_history(tmp_path / "run")[-1]["learning_rate"]) == pytest.approx(0.01 * RECIPE.learning_rate,
                                                                                   rel=0.05)
    # The plan is kept in the checkpoint: a rerun with a budget does not train past it.
    again = fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), tmp_path / "run", recipe=endless,
                strategy="default", progress=False, time_budget=30.0)
    assert again.step == again.last_step == result.step
    assert f"already trained to step {result.step} (of {result.step})" in capsys.readouterr().out


def test_validation_data_must_be_whole(data: Path, tmp_path: Path) -> None:
    shutil.copytree(data, tmp_path / "data")
    first = tmp_path / "data" / "synthetic-train-00000-of-00002.tfrecord"
    first.write_bytes(first.read_bytes()[:-10])
    with pytest.raises(ValueError, match=rf"validation must read every record:\n  {first}: unreadable after record 3"):
        fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), tmp_path / "run",
            val_data=str(tmp_path / "data" / "synthetic-train-*.tfrecord"), recipe=RECIPE, strategy="default",
            progress=False)


@pytest.mark.parametrize("field,value", [("steps", 0), ("batch_size", 8.0), ("checkpoint_every", True),
                                         ("shuffle_buffer", -1), ("keep_checkpoints", 2.5)])
def test_recipe_counts_must_be_positive_integers(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{field} must be a positive integer, got {value!r}"):
        TrainRecipe(**{field: value})


def test_recipe_precision_is_checked() -> None:
    assert TrainRecipe(precision="auto").precision == "auto"
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, float16, got 'half'"):
        TrainRecipe(precision="half")


def test_bfloat16_with_xla_trains_a_step() -> None:
    # Issue 14: under XLA, bfloat16 bilinear upsampling made the gradient sum of a tensor mix float32 and
    # bfloat16 ("Seen floating point types of different precisions in %AddN"); the decoder now upsamples
    # in float32.  One step as fit takes it: mixed_bfloat16 policy, the fused network, compile_for_training,
    # jit_compile; on the smallest network with that decoder, since XLA compiles its training graph.
    cfg = TEST_CONFIG
    recipe = TrainRecipe(steps=10, batch_size=2, precision="bfloat16", jit_compile=True)
    with dtype_policy(precision_policy(tf.distribute.get_strategy(), recipe.precision).policy):
        model = build_model(cfg, fused=True)
        compile_for_training(model, cfg, recipe)
    assert model.get_layer("dec32_proj").compute_dtype == "bfloat16" and model.jit_compile
    rng = np.random.default_rng(0)
    n, k = cfg.input_size, cfg.num_keypoints
    images = rng.uniform(0, 255, (2, n, n, 3)).astype("float32")
    targets = pack_targets(rng.uniform(0, n - 1, (2, k, 2)), np.ones((2, k)))
    logs = model.train_on_batch(images, {name: targets for name in output_names(cfg)}, return_dict=True)
    assert np.isfinite(logs["loss"]), logs


def test_the_network_takes_the_skeleton_of_its_records(data: Path, tmp_path: Path) -> None:
    write_coco_people(tmp_path, "person_keypoints_train", 2, seed=0)
    convert_coco(tmp_path / "person_keypoints_train.json", tmp_path / "images", tmp_path,
                 options=ConvertOptions(progress=False, workers=1))
    coco = [DataSource(str(tmp_path / "coco-train-*.tfrecord"))]
    assert with_records_skeleton(TEST_CONFIG, coco) == TEST_CONFIG.replace(skeleton=COCO17)
    lsp = [DataSource(str(data / "synthetic-train-*.tfrecord"))]
    assert with_records_skeleton(TEST_CONFIG, lsp) is TEST_CONFIG
    with pytest.raises(ValueError, match="config 'repose_topdown' does not fit the records' skeleton 'coco17'"):
        with_records_skeleton(get_config("repose_topdown"), coco)


def test_init_from_a_trained_model_starts_from_its_weights(run: Path, data: Path, tmp_path: Path) -> None:
    trained = keras.models.load_model(run / "model.keras", compile=False)
    expected = {w.path: w.numpy() for w in trained.weights}
    seen: dict[str, np.ndarray] = {}

    class FirstWeights(keras.callbacks.Callback):
        def on_train_begin(self, logs: dict | None = None) -> None:
            seen.update({w.path: w.numpy() for w in self.model.weights})

    short = TrainRecipe(**{**RECIPE.to_dict(), "steps": 2, "warmup_steps": 0, "checkpoint_every": 2, "pck_every": 0,
                           "seed": 1, "augment": NO_AUGMENTATION})
    result = fit(TEST_CONFIG, str(data / "synthetic-train-*.tfrecord"), tmp_path / "tuned", recipe=short,
                 strategy="default", progress=False, init_from=run / "model.keras", callbacks=[FirstWeights()])
    assert result.resumed_from == 0 and result.step == 2
    # The run trains the fused form of the network; its weights in the plain form are the file's.
    for (path, value), started in zip(expected.items(), convert_values(seen, list(expected), TEST_CONFIG)):
        np.testing.assert_array_equal(started, value, err_msg=path)
    assert json.loads((tmp_path / "tuned" / "run.json").read_text())["init_from"] == str(run / "model.keras")


def test_init_from_must_be_a_trained_model_of_the_same_network(run: Path, data: Path, tmp_path: Path) -> None:
    pattern = str(data / "synthetic-train-*.tfrecord")
    with pytest.raises(ValueError, match=r"network 'tiny_test' that differs.*input_size: 32 there, 64 here"):
        fit("tiny", pattern, tmp_path / "a", recipe=RECIPE, strategy="default", init_from=run / "model.keras")
    with pytest.raises(ValueError, match="a preset name has no trained weights"):
        fit(TEST_CONFIG, pattern, tmp_path / "b", recipe=RECIPE, strategy="default", init_from="tiny")
    with pytest.raises(ValueError, match="no such model file"):
        fit(TEST_CONFIG, pattern, tmp_path / "c", recipe=RECIPE, strategy="default", init_from=tmp_path / "x.keras")

