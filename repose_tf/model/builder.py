"""``build_model``: the RePose network of Figure 2 as a Keras functional model.

Reading the figure top to bottom (one stage; ``p/`` is the stage prefix when stacked):

  encoder     at each resolution r above the coarsest:  f (3,1,64)^4 -> skip_r,  d (5,2,64) -> r/2
              at the coarsest (16x16):                   f
  decoupling  v_k = (1,1,32) per keypoint k                              -> f_k           (Sec. 3.1)
  pre-update  per keypoint (3,1,32)^4 + (3,1,1)_u  -> "pre_update" heatmaps                (footnote 2)
  updates     pass 1 in the Figure-3 order, pass 2 reversed, own weights: eq. (1)-(2)      (Sec. 3.2)
  post-update per keypoint heads as above          -> "post_update" heatmaps
  decoder     concat of the post-update head features (K x 32), projected to 64 by a (3,1,64)
              block, f, p -> "refine_16"; then at each finer r: bilinear x2 upsampling of
              [features, heatmaps], concat skip_r, (3,1,64) projection, f (not at the input
              resolution), p -> "refine_r".
  stacking    stage s+1 takes [final features, final heatmaps] of stage s as its input.

Every heatmap output is bilinearly resized to the input resolution (intermediate supervision).
``build_model(config, fused=True)`` is the same function with the K per-keypoint v, head and p layers
as one layer each (:func:`fused_layers`, :mod:`repose_tf.model.convert`).
``docs/architecture.md`` gives the reading of the text behind each choice and the parameter and
FLOP counts that support it.
"""

from __future__ import annotations

import functools
import re

import keras

from repose_tf.config import RePoseConfig, get_config
from repose_tf.model.layers import (
    ConvBlock,
    ConvStack,
    GroupedConvBlock,
    KinematicStep,
    KinematicUpdate,
    ResizeTo,
    Upsample2x,
)

# heatmap_init="small": the p blocks start with Glorot weights scaled by 1/100 (variance 1e-4) and a
# bias of 0.01, so every heatmap starts near 0.01 everywhere, the loss near the all-zero prediction's,
# and most ReLU outputs alive.  With plain Glorot weights ("glorot") the initial heatmaps are O(1) on
# BatchNorm'd features (eq. 3 loss ~3 for tiny at sigma 6, against ~0.16 for all-zero heatmaps), the first
# hundred steps go into shrinking them, and a given PCK comes about twice as late (docs/training.md).
P_INITIALIZERS = {
    "small": (keras.initializers.VarianceScaling(1e-4, mode="fan_avg", distribution="uniform"),
              keras.initializers.Constant(0.01)),
    "glorot": ("glorot_uniform", "zeros"),
}


def _p_block(x: keras.KerasTensor, filters: int, init: str, name: str, groups: int = 1,
             inference: bool = False) -> keras.KerasTensor:
    """p = (3,1,K)_u: heatmaps from features; float32 output for mixed precision.  ``groups`` > 1: one p
    block of ``filters`` outputs per channel group of ``x`` (:class:`GroupedConvBlock`).  ``inference``:
    grouped as one convolution (``single_conv``).  Heatmaps stay float32 in every form: in bfloat16 their
    8-bit mantissa moved DARK's sub-pixel keypoints measurably (``tests/test_notebooks.py``)."""
    kernel_init, bias_init = P_INITIALIZERS[init]
    block = ConvBlock if groups == 1 else functools.partial(GroupedConvBlock, groups, single_conv=inference)
    return block(filters, 3, use_bn=False, kernel_initializer=kernel_init, bias_initializer=bias_init,
                 dtype="float32", name=name)(x)


def _keypoint_head(x: keras.KerasTensor, cfg: RePoseConfig, name: str) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """One keypoint's head, (3,1,32)^4 + (3,1,1)_u: returns (head features (B,h,w,32), heatmap (B,h,w,1))."""
    feats = ConvStack(cfg.keypoint_width, cfg.head_blocks, name=f"{name}_trunk")(x)
    return feats, _p_block(feats, 1, cfg.heatmap_init, f"{name}_p")


def _keypoint_heads(feats: list[keras.KerasTensor] | keras.KerasTensor, cfg: RePoseConfig, prefix: str, stage: str,
                    fused: bool, inference: bool = False) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The K heads of the pre- or post-update features (``stage``): (their features concatenated
    (B,h,w,K*32), the heatmaps (B,h,w,K)).  ``fused``: ``feats`` is the (B,h,w,K*32) concatenation and
    the K heads are one grouped stack and one grouped p block (:func:`fused_layers`), each computed as one
    grouped convolution with ``inference`` (:class:`GroupedConvBlock` ``single_conv``)."""
    names = cfg.skeleton.keypoints
    if not fused:
        heads = [_keypoint_head(f, cfg, f"{prefix}{stage}_{n}") for f, n in zip(feats, names)]
        # Only the post-update features go on (the white circle); an unused layer stays out of the model.
        features = keras.layers.Concatenate(name=f"{prefix}{stage}_features")([h[0] for h in heads])
        return features, keras.layers.Concatenate(name=f"{prefix}{stage}_update_concat")([h[1] for h in heads])
    k = cfg.num_keypoints
    features = ConvStack(cfg.keypoint_width, cfg.head_blocks, groups=k, single_conv=inference,
                         name=f"{prefix}{stage}_trunk")(feats)
    return features, _p_block(features, 1, cfg.heatmap_init, f"{prefix}{stage}_p", groups=k, inference=inference)


def stage_prefix(cfg: RePoseConfig, s: int) -> str:
    """The prefix of the layer and output names of stage ``s`` (from 0): none in a one-stage network, else
    ``stage<s+1>_``."""
    return "" if cfg.num_stages == 1 else f"stage{s + 1}_"


def is_fused(model: keras.Model) -> bool:
    """Whether ``model`` was built with ``fused=True`` or ``inference=True`` (its heads are grouped layers)."""
    return any(isinstance(layer, GroupedConvBlock) for layer in model.layers)


def fused_layers(config: str | RePoseConfig) -> dict[str, list[str]]:
    """Each layer of ``build_model(config, fused=True)`` that is K per-keypoint layers of the plain
    network in one, with their names in keypoint order: its weights are theirs concatenated on the
    last axis (:func:`repose_tf.model.convert.copy_weights`)."""
    cfg = get_config(config)
    if cfg.update_strategy == "none":
        return {}
    names = cfg.skeleton.keypoints
    stages = ["pre"] + (["post"] if cfg.post_update_head == "per_keypoint" else [])
    out = {}
    for s in range(cfg.num_stages):
        prefix = stage_prefix(cfg, s)
        out[f"{prefix}v"] = [f"{prefix}v_{n}" for n in names]
        for stage in stages:
            out[f"{prefix}{stage}_trunk"] = [f"{prefix}{stage}_{n}_trunk" for n in names]
            out[f"{prefix}{stage}_p"] = [f"{prefix}{stage}_{n}_p" for n in names]
    return out


def sequential_blocks(cfg: RePoseConfig) -> int:
    """Blocks of the "sequential" ablation so its parameters match the kinematic updates'.

    The kinematic updates hold, per pass and keypoint, h_k (1,1,C) on (1+|N(k)|)C channels and
    g_k = (3,1,C)^r.  The sequential stand-in is (1,1,64) on the K*C concatenation, n blocks
    (3,1,64) and (1,1,K*C) back; n is chosen to match (Sec. 4.1, "roughly the same number").
    """
    c, k, w = cfg.keypoint_width, cfg.num_keypoints, cfg.width
    sk = cfg.skeleton

    def block(cin: int, cout: int, ks: int) -> int:
        return ks * ks * cin * cout + 3 * cout  # conv + bias + BN gamma/beta

    updates = cfg.update_passes * sum(
        block((1 + len(sk.neighbours(i))) * c, c, 1) + cfg.update_blocks * block(c, c, 3) for i in range(k))
    ends = block(k * c, w, 1) + block(w, k * c, 1)
    return max(1, round((updates - ends) / block(w, w, 3)))


def pass_order(cfg: RePoseConfig, p: int) -> list[int]:
    """Keypoint indices in the order pass ``p`` (from 0) updates them: Figure 3's order, reversed in odd passes."""
    order = list(cfg.order_indices)
    return order if p % 2 == 0 else order[::-1]


def update_steps(config: str | RePoseConfig) -> list[list[list[int]]]:
    """Per pass, the kinematic updates grouped into steps that the inference form runs as one
    :class:`KinematicStep` each: keypoint indices per step, steps in order.

    A keypoint's step comes after the steps of the neighbours it sees updated (those earlier in the pass's
    order) and of the keypoints that see it before its update (earlier ones of which it is a neighbour), so
    every update reads exactly the features the sequential order gives it, and no two keypoints of a step
    are neighbours.  On LSP's 14 keypoints in the Figure-3 order: 5 steps per pass instead of 14.
    """
    cfg = get_config(config)
    passes = []
    for p in range(cfg.update_passes):
        level: dict[int, int] = {}
        for k in pass_order(cfg, p):
            after = [level[j] for j in cfg.skeleton.neighbours(k) if j in level]
            after += [level[i] for i in level if k in cfg.skeleton.neighbours(i)]
            level[k] = 1 + max(after, default=0)
        passes.append([[k for k in level if level[k] == s] for s in range(1, max(level.values()) + 1)])
    return passes


def step_layers(config: str | RePoseConfig) -> dict[str, list[str]]:
    """Each :class:`KinematicStep` of ``build_model(config, inference=True)`` with the names of the
    per-keypoint :class:`KinematicUpdate` layers it computes, in its keypoint order."""
    cfg = get_config(config)
    if cfg.update_strategy not in ("trainable", "add", "replace"):
        return {}
    names = cfg.skeleton.keypoints
    out = {}
    for s in range(cfg.num_stages):
        prefix = stage_prefix(cfg, s)
        for p, steps in enumerate(update_steps(cfg)):
            for i, step in enumerate(steps):
                out[f"{prefix}pass{p + 1}_step{i + 1}"] = [f"{prefix}pass{p + 1}_update_{names[k]}" for k in step]
    return out


def _decoupled_updates(feats: list[keras.KerasTensor], cfg: RePoseConfig, prefix: str,
                       inference: bool = False) -> list[keras.KerasTensor]:
    """Kinematic feature updates on the K decoupled sets (Sec. 3.2), or the sequential ablation.
    ``inference``: the updates of each step of :func:`update_steps` as one :class:`KinematicStep`."""
    names = cfg.skeleton.keypoints
    if cfg.update_strategy == "sequential":
        cat = keras.layers.Concatenate(name=f"{prefix}seq_concat")(feats)
        y = ConvBlock(cfg.width, 1, name=f"{prefix}seq_in")(cat)
        y = ConvStack(cfg.width, sequential_blocks(cfg), name=f"{prefix}seq_blocks")(y)
        y = ConvBlock(cfg.num_keypoints * cfg.keypoint_width, 1, name=f"{prefix}seq_out")(y)
        y = keras.layers.Add(name=f"{prefix}seq_residual")([cat, y])
        c = cfg.keypoint_width
        return [y[..., i * c:(i + 1) * c] for i in range(cfg.num_keypoints)]
    feats = list(feats)
    if inference:
        c = cfg.keypoint_width
        for p, steps in enumerate(update_steps(cfg)):
            for i, step in enumerate(steps):
                nbrs = [cfg.skeleton.neighbours(k) for k in step]
                updated = KinematicStep(
                    c, cfg.update_blocks, cfg.update_strategy, keypoints=step, neighbours=nbrs,
                    name=f"{prefix}pass{p + 1}_step{i + 1}")([feats[j] for k, n in zip(step, nbrs) for j in (k, *n)])
                for m, k in enumerate(step):
                    feats[k] = updated[..., m * c:(m + 1) * c] if len(step) > 1 else updated
        return feats
    for p in range(cfg.update_passes):
        for k in pass_order(cfg, p):
            nbrs = cfg.skeleton.neighbours(k)
            # An update sees its neighbours as already updated earlier in this pass.
            feats[k] = KinematicUpdate(
                cfg.keypoint_width, cfg.update_blocks, cfg.update_strategy, keypoint=k, neighbours=nbrs,
                name=f"{prefix}pass{p + 1}_update_{names[k]}")([feats[k], *[feats[j] for j in nbrs]])
    return feats


def _stage(x: keras.KerasTensor, cfg: RePoseConfig, prefix: str, fused: bool,
           inference: bool = False) -> tuple[dict, keras.KerasTensor, keras.KerasTensor]:
    """One RePose network.  Returns (named heatmaps at native resolution, final features, final heatmaps).
    ``inference``: see :func:`build_model`."""
    k, names = cfg.num_keypoints, cfg.skeleton.keypoints
    heatmaps: dict[str, keras.KerasTensor] = {}
    skips = {}
    for r in cfg.resolutions:
        x = ConvStack(cfg.width, cfg.f_blocks, name=f"{prefix}enc{r}_f")(x)
        skips[r] = x
        x = ConvBlock(cfg.width, 5, strides=2, name=f"{prefix}enc{r}_d")(x)
    c = cfg.coarsest
    x = ConvStack(cfg.width, cfg.f_blocks, name=f"{prefix}enc{c}_f")(x)

    if cfg.update_strategy == "none":
        up = x
    else:
        # Decoupling into K sets with v = (1,1,32), one heatmap per set: the pre-update heatmaps.  Fused: the
        # K v_k as one (1,1,K*32) block, the K heads (footnote 2) as one grouped stack on its output.
        kw = cfg.keypoint_width
        if fused:
            decoupled = ConvBlock(k * kw, 1, name=f"{prefix}v")(x)
            feats = [decoupled[..., i * kw:(i + 1) * kw] for i in range(k)]
        else:
            feats = [ConvBlock(kw, 1, name=f"{prefix}v_{n}")(x) for n in names]
        heatmaps["pre_update"] = _keypoint_heads(decoupled if fused else feats, cfg, prefix, "pre", fused,
                                                 inference)[1]
        if cfg.update_passes or not fused:
            feats = _decoupled_updates(feats, cfg, prefix, inference)
            if fused:
                decoupled = keras.layers.Concatenate(name=f"{prefix}updated_features")(feats)
        if cfg.post_update_head == "per_keypoint":
            # The white circle of Figure 2: concatenate the features that predicted the heatmaps.
            up, heatmaps["post_update"] = _keypoint_heads(decoupled if fused else feats, cfg, prefix, "post", fused,
                                                          inference)
        else:
            cat = keras.layers.Concatenate(name=f"{prefix}post_concat")(feats)
            up = ConvBlock(cfg.keypoint_width, 1, name=f"{prefix}post_joint_proj")(cat)
            heatmaps["post_update"] = _p_block(up, k, cfg.heatmap_init, f"{prefix}post_joint_p", inference=inference)

    y = ConvBlock(cfg.width, 3, name=f"{prefix}dec{c}_proj")(up)
    y = ConvStack(cfg.width, cfg.f_blocks, name=f"{prefix}dec{c}_f")(y)
    hm = _p_block(y, k, cfg.heatmap_init, f"{prefix}dec{c}_p", inference=inference)
    heatmaps[f"refine_{c}"] = hm
    for r in reversed(cfg.resolutions):
        u = keras.layers.Concatenate(name=f"{prefix}dec{r}_carry")([y, hm])
        # Bilinear resizes run in float32, as in ResizeTo: under XLA, the gradient of a bfloat16 resize
        # (ResizeBilinearGrad) comes out float32, and its sum with the bfloat16 gradient of the same
        # tensor fails to compile ("Seen floating point types of different precisions in %AddN").  The
        # inference form, never trained, resizes in the compute dtype.
        if inference:
            u = Upsample2x(name=f"{prefix}dec{r}_up")(u)
        else:
            u = keras.layers.UpSampling2D(2, interpolation="bilinear", dtype="float32", name=f"{prefix}dec{r}_up")(u)
        u = keras.layers.Concatenate(name=f"{prefix}dec{r}_skip")([u, skips[r]])
        y = ConvBlock(cfg.width, 3, name=f"{prefix}dec{r}_proj")(u)
        if r != cfg.input_size:
            y = ConvStack(cfg.width, cfg.f_blocks, name=f"{prefix}dec{r}_f")(y)
        hm = _p_block(y, k, cfg.heatmap_init, f"{prefix}dec{r}_p", inference=inference)
        heatmaps[f"refine_{r}"] = hm
    return heatmaps, y, hm


def heatmap_block(model: keras.Model, config: str | RePoseConfig, output: str,
                  keypoint: str) -> tuple[keras.layers.Layer, int]:
    """The p block of ``model`` (a network of ``config``, either form of :func:`build_model`) that
    computes the heatmap of ``keypoint`` (a name) in the output ``output``, and the column of its kernel
    and bias that does."""
    cfg = get_config(config)
    match = re.fullmatch(r"(stage\d+_)?(?:(pre|post)_update|refine_(\d+))", output)
    if match is None or output not in output_names(cfg):
        raise ValueError(f"{output!r} is not a heatmap output of {cfg.name}")
    prefix, stage, resolution = match.group(1) or "", match.group(2), match.group(3)
    k = cfg.skeleton.index(keypoint)
    if resolution is not None:
        return model.get_layer(f"{prefix}dec{resolution}_p"), k
    layers = {layer.name: layer for layer in model.layers}
    for name in (f"{prefix}{stage}_p", f"{prefix}{stage}_joint_p"):  # fused, joint post-update head
        if name in layers:
            return layers[name], k
    return layers[f"{prefix}{stage}_{keypoint}_p"], 0


def output_names(config: str | RePoseConfig) -> list[str]:
    """Names of the model's outputs, in order; the last is the final full-resolution prediction."""
    cfg = get_config(config)
    per_stage = ([] if cfg.update_strategy == "none" else ["pre_update", "post_update"])
    per_stage += [f"refine_{r}" for r in (cfg.coarsest, *reversed(cfg.resolutions))]
    return [f"{stage_prefix(cfg, s)}{n}" for s in range(cfg.num_stages) for n in per_stage]


def build_model(config: str | RePoseConfig = "repose", fused: bool = False, inference: bool = False) -> keras.Model:
    """Build RePose from a preset name or a :class:`RePoseConfig`.

    Input: ``image`` (B, n, n, 3) float, RGB 0..255.  Outputs: a dict of heatmaps, each
    (B, n, n, K) float32, named by :func:`output_names` (``pre_update``, ``post_update``,
    ``refine_16`` ... ``refine_128``); ``refine_<n>`` of the last stage is the final prediction.

    ``fused``: the same function with the K per-keypoint v, head and p layers as one layer each
    (:func:`fused_layers`; ``docs/architecture.md``, "the fused form"): faster to train, what ``fit`` trains.
    The default, one layer per keypoint, is the network as the paper draws it, and what is saved.
    ``inference``: the fused form whose grouped layers each run as one grouped convolution
    (:class:`GroupedConvBlock` ``single_conv``), whose kinematic updates run in steps (:func:`update_steps`)
    and whose decoder resizes compute in the model's dtype, not float32: faster forward under
    ``mixed_bfloat16``, for inference graphs only (on the CPU a grouped convolution's gradient needs oneDNN,
    and under XLA it is slow); the bfloat16 exports and predictors run it.
    """
    cfg = get_config(config)
    n = cfg.input_size
    image = keras.Input((n, n, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="normalize")(image)
    outputs: dict[str, keras.KerasTensor] = {}
    for s in range(cfg.num_stages):
        prefix = stage_prefix(cfg, s)
        heatmaps, feats, hm = _stage(x, cfg, prefix, fused or inference, inference)
        for name, h in heatmaps.items():
            outputs[prefix + name] = ResizeTo(n, dtype="float32", name=prefix + name)(h)
        if s + 1 < cfg.num_stages:
            x = keras.layers.Concatenate(name=f"{stage_prefix(cfg, s + 1)}input")([feats, hm])
    assert list(outputs) == output_names(cfg), (list(outputs), output_names(cfg))
    return keras.Model(image, outputs, name=cfg.name)
