"""Structure of the RePose graph: outputs, decoupling, update order, neighbours, passes, λ."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from repose_tf import build_model, get_config, output_names
from repose_tf.config import RePoseConfig
from repose_tf.model.layers import KinematicUpdate
from repose_tf.skeleton import Skeleton

TINY = get_config("tiny")
NAMES = TINY.skeleton.keypoints


@pytest.fixture(scope="module")
def tiny() -> keras.Model:
    return build_model("tiny")


def _producer(tensor) -> str:
    return tensor._keras_history.operation.name


def _updates(model: keras.Model, pass_index: int) -> list[KinematicUpdate]:
    return [layer for layer in model.layers
            if isinstance(layer, KinematicUpdate) and layer.name.startswith(f"pass{pass_index}_")]


def test_output_names_and_shapes(tiny: keras.Model) -> None:
    names = output_names(TINY)
    assert names == ["pre_update", "post_update", "refine_8", "refine_16", "refine_32", "refine_64"]
    out = tiny(np.zeros((2, 64, 64, 3), np.float32))
    assert list(out) == names
    for name in names:
        assert out[name].shape == (2, 64, 64, 14), name
        assert out[name].dtype == "float32"


def test_update_order_and_already_updated_neighbours(tiny: keras.Model) -> None:
    order = [NAMES[i] for i in TINY.order_indices]
    for p, seq in ((1, order), (2, order[::-1])):
        by_name = {layer.name: layer for layer in _updates(tiny, p)}
        assert set(by_name) == {f"pass{p}_update_{n}" for n in seq}
        # The order is observable through the graph: each step reads its neighbours as
        # already updated in this pass exactly when they come earlier in the order.
        layers = [by_name[f"pass{p}_update_{n}"] for n in seq]
        done: set[str] = set()
        for layer in layers:
            k = NAMES[layer.keypoint]
            inputs = layer._inbound_nodes[0].input_tensors
            assert _producer(inputs[0]) == (f"v_{k}" if p == 1 else f"pass1_update_{k}")
            for j, t in zip(layer.neighbours, inputs[1:]):
                nj = NAMES[j]
                if nj in done:
                    expected = f"pass{p}_update_{nj}"
                else:
                    expected = f"v_{nj}" if p == 1 else f"pass1_update_{nj}"
                assert _producer(t) == expected, (layer.name, nj)
            done.add(k)


def test_neighbour_sets_follow_the_edges(tiny: keras.Model) -> None:
    sk = TINY.skeleton
    expected = {
        "r_hip": {"r_knee", "l_hip", "r_shoulder"},
        "r_shoulder": {"r_hip", "l_shoulder", "r_elbow", "neck"},
        "neck": {"r_shoulder", "l_shoulder", "head"},
        "head": {"neck"},
        "l_wrist": {"l_elbow"},
    }
    for layer in _updates(tiny, 1) + _updates(tiny, 2):
        k = NAMES[layer.keypoint]
        assert layer.neighbours == sk.neighbours(layer.keypoint)
        if k in expected:
            assert {NAMES[j] for j in layer.neighbours} == expected[k]
        # h_k sees f_k and its neighbours: (1 + |N(k)|) * C input channels.
        assert layer.h.conv.kernel.shape[2] == (1 + len(layer.neighbours)) * TINY.keypoint_width


def test_two_passes_with_distinct_weights_and_one_lambda_each(tiny: keras.Model) -> None:
    p1, p2 = _updates(tiny, 1), _updates(tiny, 2)
    assert len(p1) == len(p2) == 14
    ids1 = {id(v) for layer in p1 for v in layer.weights}
    ids2 = {id(v) for layer in p2 for v in layer.weights}
    assert not ids1 & ids2
    for layer in p1 + p2:
        lams = [w for w in layer.trainable_weights if w.name == "lambda"]
        assert len(lams) == 1 and tuple(lams[0].shape) == ()
        assert len(layer.g.blocks) == TINY.update_blocks


@pytest.mark.parametrize("strategy", ["trainable", "add", "replace"])
def test_update_strategies(strategy: str) -> None:
    layer = KinematicUpdate(8, 2, strategy, keypoint=0, neighbours=(1, 2))
    rng = np.random.default_rng(0)
    f = [rng.normal(size=(2, 6, 6, 8)).astype("float32") for _ in range(3)]
    out = keras.ops.convert_to_numpy(layer(f))
    delta = keras.ops.convert_to_numpy(layer.g(layer.h(np.concatenate(f, -1))))
    if strategy == "trainable":
        layer.lam.assign(0.25)
        out = keras.ops.convert_to_numpy(layer(f))
        np.testing.assert_allclose(out, f[0] + 0.25 * delta, rtol=1e-5, atol=1e-5)
    elif strategy == "add":
        assert not [w for w in layer.weights if w.name == "lambda"]
        np.testing.assert_allclose(out, f[0] + delta, rtol=1e-5, atol=1e-5)
    else:
        np.testing.assert_allclose(out, delta, rtol=1e-5, atol=1e-5)


def test_pre_update_heatmap_k_depends_only_on_keypoint_k(tiny: keras.Model) -> None:
    decoupled = [tiny.get_layer(f"v_{n}").output for n in NAMES]
    sub = keras.Model(decoupled, tiny.get_layer("pre_update_concat").output)
    rng = np.random.default_rng(1)
    feats = [rng.normal(size=(1, 8, 8, TINY.keypoint_width)).astype("float32") for _ in NAMES]
    base = keras.ops.convert_to_numpy(sub(feats))
    for j in range(len(NAMES)):
        bumped = list(feats)
        bumped[j] = feats[j] + rng.normal(size=feats[j].shape).astype("float32")
        diff = np.abs(keras.ops.convert_to_numpy(sub(bumped)) - base).max(axis=(0, 1, 2))
        assert diff[j] > 0, NAMES[j]
        assert np.all(np.delete(diff, j) == 0), NAMES[j]


def test_no_weight_sharing(tiny: keras.Model) -> None:
    ids = [id(w) for layer in tiny.layers for w in layer.weights]
    assert len(ids) == len(set(ids))


def test_variants_build() -> None:
    shape = {k: getattr(TINY, k) for k in (
        "input_size", "coarsest", "width", "keypoint_width", "f_blocks", "head_blocks", "update_blocks")}
    unet = build_model(get_config("unet").replace(**shape))
    assert list(unet.output) == ["refine_8", "refine_16", "refine_32", "refine_64"]
    assert not [layer for layer in unet.layers if isinstance(layer, KinematicUpdate)]
    joint = build_model(get_config("repose_joint").replace(**shape))
    assert joint.get_layer("post_joint_p").conv.filters == 14
    assert len([layer for layer in joint.layers if isinstance(layer, KinematicUpdate)]) == 28
    seq = build_model(TINY.replace(name="tiny_seq", update_strategy="sequential"))
    assert seq.get_layer("seq_blocks").repeats >= 1
    stacked = build_model(TINY.replace(name="tiny_2stage", num_stages=2))
    assert list(stacked.output)[-1] == "stage2_refine_64"
    assert stacked.get_layer("stage2_enc64_f").blocks[0].conv.kernel.shape[2] == TINY.width + 14


def test_zero_update_passes_keep_the_decoupled_heads() -> None:
    # The "no updates" ablation (benchmarks/ablation.py): post-update heads read v_k directly.
    model = build_model(TINY.replace(name="tiny_no_updates", update_passes=0))
    assert list(model.output) == output_names(TINY)
    assert not [layer for layer in model.layers if isinstance(layer, KinematicUpdate)]
    for n in NAMES:
        trunk = model.get_layer(f"post_{n}_trunk")
        assert _producer(trunk._inbound_nodes[0].input_tensors[0]) == f"v_{n}"


@pytest.mark.parametrize("init", ["small", "glorot"])
def test_heatmap_init(init: str) -> None:
    # As training starts (BatchNorm on batch statistics): "small" heatmaps sit near 0.01 with most
    # p-block ReLUs active; "glorot" (Keras' defaults) heatmaps are O(1).
    keras.utils.set_random_seed(0)
    model = build_model(TINY.replace(name=f"tiny_{init}", heatmap_init=init))
    x = np.random.default_rng(3).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    for name, heatmaps in model(x, training=True).items():
        h = keras.ops.convert_to_numpy(heatmaps)
        if init == "small":
            assert h.max() < 0.1 and abs(h.mean() - 0.01) < 0.005 and (h > 0).mean() > 0.75, (name, h.max())
        else:
            assert h.max() > 1.0, (name, h.max())


def test_keras_round_trip(tiny: keras.Model, tmp_path) -> None:
    x = np.random.default_rng(2).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    path = tmp_path / "tiny.keras"
    tiny.save(path)
    again = keras.models.load_model(path)
    a, b = tiny(x), again(x)
    for name in a:
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a[name]), keras.ops.convert_to_numpy(b[name]))


def test_mixed_float16() -> None:
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_model("tiny")
        out = model(np.zeros((1, 64, 64, 3), np.float32))
        assert all(v.dtype == "float32" for v in out.values())
        assert model.get_layer("enc64_f").compute_dtype == "float16"
        assert all(np.isfinite(keras.ops.convert_to_numpy(v)).all() for v in out.values())
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_a_five_keypoint_chain_with_no_ordering_given() -> None:
    """``RePoseConfig(skeleton=custom)`` with the order derived: middle first, then outwards, reversed in pass 2."""
    chain = Skeleton("chain", ("a", "b", "c", "d", "e"), (("a", "b"), ("b", "c"), ("c", "d"), ("d", "e")), ())
    cfg = RePoseConfig(name="chain", skeleton=chain, input_size=32, coarsest=8, width=8, keypoint_width=4,
                       f_blocks=1, head_blocks=1, update_blocks=1)
    model = build_model(cfg)
    assert model(np.zeros((1, 32, 32, 3), np.float32))["refine_32"].shape == (1, 32, 32, 5)
    names = chain.keypoints
    order = ["c", "b", "d", "a", "e"]
    assert [names[k] for k in cfg.order_indices] == order
    for p, seq in ((1, order), (2, order[::-1])):
        # Each step reads a neighbour as updated in this pass exactly when it comes earlier in the order.
        for i, layer in enumerate(model.get_layer(f"pass{p}_update_{n}") for n in seq):
            for j, t in zip(layer.neighbours, layer._inbound_nodes[0].input_tensors[1:]):
                earlier = names[j] in seq[:i]
                before = f"v_{names[j]}" if p == 1 else f"pass1_update_{names[j]}"
                assert _producer(t) == (f"pass{p}_update_{names[j]}" if earlier else before), (layer.name, j)
    expected = {"a": {"b"}, "b": {"a", "c"}, "c": {"b", "d"}, "d": {"c", "e"}, "e": {"d"}}
    for layer in _updates(model, 1) + _updates(model, 2):
        assert {names[j] for j in layer.neighbours} == expected[names[layer.keypoint]]
        assert layer.h.conv.kernel.shape[2] == (1 + len(expected[names[layer.keypoint]])) * cfg.keypoint_width
