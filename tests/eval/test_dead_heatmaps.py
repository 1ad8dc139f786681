"""``dead_heatmaps``: a heatmap channel pushed below zero everywhere is found, in the output it belongs to
and under its keypoint's name; a network whose heatmaps are all alive has none."""

from __future__ import annotations

import numpy as np

from repose_tf import build_model, get_config
from repose_tf.eval.dead_heatmaps import dead_heatmaps, heatmap_maxima

TINY = get_config("tiny")


def _images(count: int) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 255, (count, TINY.input_size, TINY.input_size, 3)).astype("float32")


def test_a_channel_below_zero_everywhere_is_dead_in_its_output_only() -> None:
    model = build_model(TINY)
    assert dead_heatmaps(model, _images(3), TINY.skeleton) == {}
    final = f"refine_{TINY.input_size}"
    bias = model.get_layer(f"dec{TINY.input_size}_p").conv.bias
    wrist = TINY.skeleton.index("l_wrist")
    bias.assign(np.where(np.arange(TINY.num_keypoints) == wrist, -100.0, bias.numpy()))
    maxima = heatmap_maxima(model, _images(5), batch_size=2)
    assert set(maxima) == set(model.output) and maxima[final].shape == (TINY.num_keypoints,)
    assert maxima[final][wrist] == 0 and np.all(np.delete(maxima[final], wrist) > 0)
    assert dead_heatmaps(model, _images(5), TINY.skeleton) == {final: ["l_wrist"]}
