"""The fused form of the network (issue 14): the K per-keypoint v, head and p layers as one layer each
compute what the per-keypoint layers compute, on converted weights, both ways."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from repose_tf import build_model, get_config, pretrained
from repose_tf.skeleton import COCO17
from repose_tf.inference import load_keras_model
from repose_tf.model.builder import fused_layers, heatmap_block, is_fused, output_names, update_steps
from repose_tf.model.convert import copy_shared_weights, copy_weights
from repose_tf.model.layers import ConvBlock, GroupedConvBlock, KinematicStep
from repose_tf.train.checkpoints import CheckpointError, CheckpointWriter, latest_checkpoint, restore

TINY = get_config("tiny")


def _images(size: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 255, (2, size, size, 3)).astype("float32")


def _assert_same_outputs(a: keras.Model, b: keras.Model, x: np.ndarray, training: bool, atol: float) -> None:
    out_a, out_b = a(x, training=training), b(x, training=training)
    assert list(out_a) == list(out_b)
    for name in out_a:
        np.testing.assert_allclose(keras.ops.convert_to_numpy(out_b[name]), keras.ops.convert_to_numpy(out_a[name]),
                                   rtol=0, atol=atol, err_msg=name)


def _randomize(model: keras.Model, seed: int) -> None:
    """Random weights everywhere (BatchNorm statistics too), so every output depends on every weight."""
    rng = np.random.default_rng(seed)
    for w in model.weights:
        value = rng.normal(0, 0.3, w.shape)
        w.assign(np.abs(value) + 0.5 if "variance" in w.path else value)


@pytest.mark.parametrize("changes", [{}, {"update_passes": 0}, {"num_stages": 2, "post_update_head": "joint"}],
                         ids=["tiny", "no_updates", "2stage_joint"])
def test_fused_equals_plain_on_converted_weights(changes: dict) -> None:
    cfg = TINY.replace(name="tiny_variant", **changes)
    plain, fused = build_model(cfg), build_model(cfg, fused=True)
    assert is_fused(fused) and not is_fused(plain)
    _randomize(plain, 0)
    copy_weights(plain, fused, cfg)
    x = _images(cfg.input_size)
    _assert_same_outputs(plain, fused, x, training=False, atol=1e-5)
    _assert_same_outputs(plain, fused, x, training=True, atol=1e-5)
    # And back: the per-keypoint weights are recovered bit for bit.
    again = build_model(cfg)
    copy_weights(fused, again, cfg)
    for a, b in zip(plain.weights, again.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("changes", [{}, {"update_strategy": "add"}, {"update_strategy": "replace"},
                                     {"update_passes": 0}, {"num_stages": 2, "post_update_head": "joint"}],
                         ids=["tiny", "add", "replace", "no_updates", "2stage_joint"])
def test_the_inference_form_computes_what_plain_computes(changes: dict) -> None:
    # Its grouped layers run as one grouped convolution each, the updates of each step as one layer, and
    # its p blocks and resizes in the model's dtype: in float32 the same sums as the plain network.
    cfg = TINY.replace(name="tiny_variant", **changes)
    plain, inference = build_model(cfg), build_model(cfg, inference=True)
    assert is_fused(inference)
    grouped = [layer for layer in inference._flatten_layers() if isinstance(layer, GroupedConvBlock)]
    assert grouped and all(layer.single_conv for layer in grouped)
    steps = [layer for layer in inference.layers if isinstance(layer, KinematicStep)]
    assert len(steps) == cfg.num_stages * sum(len(p) for p in update_steps(cfg))
    _randomize(plain, 4)
    copy_weights(plain, inference, cfg)
    _assert_same_outputs(plain, inference, _images(cfg.input_size, 2), training=False, atol=1e-5)
    traced = tf.function(lambda t: inference(t, training=False))
    assert not any(op.type == "Split" for op in traced.get_concrete_function(
        tf.TensorSpec((1, 64, 64, 3), tf.float32)).graph.get_operations())


@pytest.mark.parametrize("skeleton", ["lsp", "coco"])
def test_update_steps_keep_what_each_update_reads(skeleton: str) -> None:
    # Run the sequential order and the steps on version counters: every update must read the same
    # version of itself and of each neighbour, and no two keypoints of a step may be neighbours.
    cfg = TINY if skeleton == "lsp" else TINY.replace(skeleton=COCO17)
    sk, order = cfg.skeleton, list(cfg.order_indices)
    steps = update_steps(cfg)
    assert len(steps) == cfg.update_passes
    for p, pass_steps in enumerate(steps):
        sequential = order if p % 2 == 0 else order[::-1]
        assert sorted(k for step in pass_steps for k in step) == sorted(sequential)
        version = dict.fromkeys(sequential, 0)
        reads = {}
        for k in sequential:
            reads[k] = [version[j] for j in (k, *sk.neighbours(k))]
            version[k] += 1
        version = dict.fromkeys(sequential, 0)
        for step in pass_steps:
            assert not any(j in step for k in step for j in sk.neighbours(k))
            for k in step:
                assert [version[j] for j in (k, *sk.neighbours(k))] == reads[k]
            for k in step:
                version[k] += 1
    if skeleton == "lsp":
        assert [len(p) for p in steps] == [5, 5]  # instead of 14 updates per pass


def test_the_inference_form_round_trips(tmp_path: Path) -> None:
    inference = build_model("tiny", inference=True)
    inference.save(tmp_path / "inference.keras")
    again = keras.models.load_model(tmp_path / "inference.keras")
    assert all(layer.single_conv for layer in again._flatten_layers() if isinstance(layer, GroupedConvBlock))
    _assert_same_outputs(inference, again, _images(64), training=False, atol=0)


def test_fused_has_the_parameters_of_plain_and_fewer_layers() -> None:
    plain, fused = build_model("tiny"), build_model("tiny", fused=True)
    assert plain.count_params() == fused.count_params()
    assert len(fused.layers) < len(plain.layers) / 1.5
    assert fused.get_layer("pre_trunk").groups == TINY.num_keypoints
    assert fused.get_layer("post_p").conv.kernel.shape == (3, 3, TINY.keypoint_width, TINY.num_keypoints)
    assert set(fused_layers(TINY)) <= {layer.name for layer in fused.layers}


def test_the_pretrained_small_network_fused_gives_its_outputs() -> None:
    # The shipped lsp-small (saved before the fused form existed) still loads, and converts exactly.
    shipped = pretrained.get(pretrained.DEFAULT_MODEL)
    plain = load_keras_model(shipped.path)
    assert not is_fused(plain)
    fused = build_model(shipped.config, fused=True)
    copy_weights(plain, fused, shipped.config)
    _assert_same_outputs(plain, fused, _images(shipped.config.input_size, 1), training=False, atol=1e-5)


def test_fused_keras_round_trip(tmp_path: Path) -> None:
    fused = build_model("tiny", fused=True)
    fused.save(tmp_path / "fused.keras")
    again = keras.models.load_model(tmp_path / "fused.keras")
    assert is_fused(again)
    _assert_same_outputs(fused, again, _images(64), training=False, atol=0)


def test_grouped_block_equals_its_blocks_eager_graph_and_xla() -> None:
    groups, c, f = 3, 4, 5
    grouped = GroupedConvBlock(groups, f, 3)
    x = np.random.default_rng(2).normal(size=(2, 6, 6, groups * c)).astype("float32")
    out = keras.ops.convert_to_numpy(grouped(x, training=True))
    kernels = np.split(grouped.conv.kernel.numpy(), groups, axis=-1)
    biases = np.split(grouped.conv.bias.numpy(), groups)
    for k in range(groups):
        block = ConvBlock(f, 3)
        block.build((2, 6, 6, c))
        block.conv.kernel.assign(kernels[k])
        block.conv.bias.assign(biases[k])
        expected = keras.ops.convert_to_numpy(block(x[..., k * c:(k + 1) * c], training=True))
        np.testing.assert_allclose(out[..., k * f:(k + 1) * f], expected, rtol=0, atol=1e-5)
    for jit in (False, True):
        traced = tf.function(lambda t: grouped(t, training=True), jit_compile=jit)
        np.testing.assert_allclose(traced(x).numpy(), out, rtol=0, atol=1e-5)


def test_a_checkpoint_of_one_form_restores_into_the_other(tmp_path: Path) -> None:
    cfg = TINY
    fused = build_model(cfg, fused=True)
    _randomize(fused, 3)
    fused.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    fused.optimizer.build(fused.trainable_variables)
    CheckpointWriter(tmp_path, cfg).save(1, fused, fused.optimizer)
    info = latest_checkpoint(tmp_path)
    assert info.fused
    plain = build_model(cfg)
    restore(info, plain)
    _assert_same_outputs(fused, plain, _images(64), training=False, atol=1e-5)
    plain.compile(optimizer=keras.optimizers.Adam(), loss="mse")
    plain.optimizer.build(plain.trainable_variables)
    with pytest.raises(CheckpointError, match="fused network; resume it with the same form"):
        restore(info, plain, plain.optimizer)


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
def test_a_network_of_other_keypoints_takes_the_layers_both_have(fused: bool) -> None:
    coco = TINY.replace(skeleton=COCO17)
    source, target = build_model(TINY), build_model(coco, fused=fused)
    _randomize(source, 0)
    before = build_model(coco)
    copy_weights(target, before, coco)
    taken, total = copy_shared_weights(source, target, coco)
    after = build_model(coco)
    copy_weights(target, after, coco)
    values = {w.path: w.numpy() for w in source.weights}
    shared = [w.path for w in after.weights if w.path in values and values[w.path].shape == tuple(w.shape)]
    assert taken == len(shared) and total == len(after.weights) and 0 < taken < total
    # The trunk comes from the source; the 17-channel outputs and the COCO keypoints' layers do not.
    assert any(path.startswith("enc") for path in shared) and not any(path.startswith("refine") for path in shared)
    for new, old in zip(after.weights, before.weights):
        expected = values[new.path] if new.path in shared else old.numpy()
        np.testing.assert_array_equal(new.numpy(), expected, err_msg=new.path)


@pytest.mark.parametrize("fused", [False, True], ids=["plain", "fused"])
def test_heatmap_block_finds_the_p_block_column_of_each_output(fused: bool) -> None:
    cfg = TINY.replace(name="tiny_2stage", num_stages=2, post_update_head="joint")
    model = build_model(cfg, fused=fused)
    x = _images(cfg.input_size)
    outputs = model(x, training=False)
    head = cfg.skeleton.index("head")
    for output in output_names(cfg):
        layer, column = heatmap_block(model, cfg, output, "head")
        bias = layer.conv.bias
        bias.assign(np.where(np.arange(bias.shape[0]) == column, -1e4, bias.numpy()))
        changed = model(x, training=False)
        assert float(np.max(changed[output].numpy()[..., head])) == 0.0, output
        np.testing.assert_array_equal(np.delete(changed[output].numpy(), head, -1),
                                      np.delete(outputs[output].numpy(), head, -1))
        bias.assign(np.where(np.arange(bias.shape[0]) == column, 0.01, bias.numpy()))
    with pytest.raises(ValueError, match="not a heatmap output"):
        heatmap_block(model, cfg, "refine_999", "head")
