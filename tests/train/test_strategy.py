"""Distribution: MirroredStrategy on two logical CPUs agrees with the default strategy; two real
MultiWorkerMirroredStrategy workers on 127.0.0.1 end with the same weights, the chief checkpoints
(augmenting in tf.data, and in the train step).

Both run in subprocesses (logical devices and TF_CONFIG must be set before TensorFlow starts),
each bounded by a timeout.
"""

from __future__ import annotations

import csv
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from repose_tf import hardware
from repose_tf.train.strategy import STRATEGIES, make_strategy, precision_policy
from tests.train.helpers import write_people

REPO = Path(__file__).resolve().parents[2]
TIMEOUT = 600

MIRRORED = textwrap.dedent("""
    import json, sys
    import numpy as np, tensorflow as tf, keras
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from repose_tf.model.builder import build_model, output_names
    from repose_tf.train.loss import PartialMSE, pack_targets
    from repose_tf.train.strategy import make_strategy
    from tests.train.helpers import TEST_CONFIG as cfg

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (8, cfg.input_size, cfg.input_size, 3)).astype("float32")
    keypoints = rng.uniform(2, cfg.input_size - 3, (8, cfg.num_keypoints, 2)).astype("float32")
    mask = (rng.random((8, cfg.num_keypoints)) > 0.2).astype("float32")
    packed = pack_targets(keypoints, mask)
    targets = {n: packed for n in output_names(cfg)}
    keras.utils.set_random_seed(1)
    weights = build_model(cfg).get_weights()
    losses = {}
    for name in ("default", "mirrored"):
        strategy = make_strategy(name)
        with strategy.scope():
            model = build_model(cfg)
            model.set_weights(weights)
            model.compile(optimizer="adam", loss={n: PartialMSE(cfg.sigma) for n in output_names(cfg)})
        data = tf.data.Dataset.from_tensor_slices((images, targets)).batch(8)
        losses[name] = {"replicas": strategy.num_replicas_in_sync,
                        "loss": float(model.evaluate(data, verbose=0, return_dict=True)["loss"])}
    print(json.dumps(losses))
""")

WORKER = textwrap.dedent("""
    import sys
    import numpy as np
    from repose_tf.model.builder import build_model
    from repose_tf.train import TrainRecipe, fit
    from repose_tf.train.checkpoints import find_checkpoint, restore
    from tests.train.helpers import TEST_CONFIG
    data, val, out, weights = sys.argv[1:5]
    recipe = TrainRecipe(steps=4, batch_size=8, checkpoint_every=2, pck_every=4, shuffle_buffer=16,
                         augment_in="pipeline")
    result = fit(TEST_CONFIG, data, out, val_data=val, recipe=recipe, strategy="multiworker", progress=False)
    arrays = {"final": result.model.get_weights()}
    if result.checkpoint is not None:
        saved = build_model(TEST_CONFIG)
        restore(find_checkpoint(result.checkpoint), saved)
        arrays["checkpoint"] = saved.get_weights()
    np.savez(weights, **{f"{kind}_{i}": w for kind, ws in arrays.items() for i, w in enumerate(ws)})
    print("step", result.step, "checkpoint", result.checkpoint, "val_pck", result.val_pck)
""")


def _env(**extra: str) -> dict[str, str]:
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": path, "TF_CPP_MIN_LOG_LEVEL": "2", **extra}


def test_mirrored_on_two_logical_cpus_matches_the_default_strategy() -> None:
    done = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True, timeout=TIMEOUT,
                          env=_env(), cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    losses = json.loads(done.stdout.strip().splitlines()[-1])
    assert losses["mirrored"]["replicas"] == 2 and losses["default"]["replicas"] == 1
    assert losses["mirrored"]["loss"] == pytest.approx(losses["default"]["loss"], rel=1e-4)


def _free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def test_two_multiworker_processes_agree_and_only_the_chief_checkpoints(tmp_path: Path) -> None:
    # Augmentation in tf.data, where "auto" puts it on CPU workers.  Augmentation in the train step is
    # tested under the default strategy only (tests/train/test_in_step.py): a second pair of workers
    # for it cost a minute of the suite.
    data = write_people(tmp_path / "data", "train", 16, 0, image_size=64)
    val = write_people(tmp_path / "data", "val", 8, 1, image_size=64)
    workers = [f"127.0.0.1:{p}" for p in _free_ports(2)]
    # One run directory per worker, as on two machines with their own disks: the non-chief's stays unwritten.
    runs = [tmp_path / f"run{index}" for index in range(2)]
    procs = []
    for index in range(2):
        config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, data, val, str(runs[index]), str(tmp_path / f"weights{index}.npz")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(TF_CONFIG=config), cwd=REPO))
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=TIMEOUT))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate(timeout=60)
    for proc, (stdout, stderr) in zip(procs, outputs):
        assert proc.returncode == 0, stderr[-3000:]
        assert "step 4" in stdout
    chief, other = (dict(np.load(tmp_path / f"weights{i}.npz")) for i in range(2))
    finals = [key for key in chief if key.startswith("final_")]
    assert finals and sorted(other) == sorted(finals)  # only the chief has a checkpoint
    for key in finals:
        np.testing.assert_array_equal(chief[key], other[key], err_msg=key)  # BatchNorm statistics included
        np.testing.assert_array_equal(chief[key.replace("final_", "checkpoint_")], chief[key], err_msg=key)
    assert sorted(p.name for p in (runs[0] / "checkpoints").iterdir()) == [
        "ckpt-000000002", "ckpt-000000004", "latest"]
    assert (runs[0] / "model.keras").is_file()
    with (runs[0] / "history.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [row["step"] for row in rows] == ["2", "4"] and 0 <= float(rows[-1]["val_pck"]) <= 100
    assert "checkpoint None" in outputs[1][0]
    pcks = [stdout.rsplit("val_pck", 1)[1].strip() for stdout, _ in outputs]
    assert pcks[0] == pcks[1] != "{}"  # both workers validate the same network
    assert not runs[1].exists()  # the non-chief worker wrote nothing


def test_unknown_or_unavailable_strategies() -> None:
    assert "auto" in STRATEGIES
    with pytest.raises(ValueError, match="unknown strategy"):
        make_strategy("horovod")
    with pytest.raises(ValueError, match="no TPU found"):
        make_strategy("tpu")


def test_precision_policies(monkeypatch: pytest.MonkeyPatch) -> None:
    default = make_strategy("default")
    assert precision_policy(default, "float32") == ("float32", "asked for")
    assert precision_policy(default, "bfloat16").policy == "mixed_bfloat16"
    assert precision_policy(default, "float16").policy == "mixed_float16"
    with pytest.raises(ValueError, match="precision must be one of auto, float32, bfloat16, float16, got 'fp8'"):
        precision_policy(default, "fp8")
    # auto follows the CPU's instructions on a machine without accelerators.
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2"}))
    assert precision_policy(default, "auto").policy == "float32"
    monkeypatch.setattr(hardware, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert precision_policy(default, "auto") == ("mixed_bfloat16", "the CPU has avx512_bf16")
