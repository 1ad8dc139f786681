"""Figures of repose_tf.viz, checked on the rendered PNGs: size, content, and where the pose is drawn."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib import pyplot
from matplotlib.colors import to_rgb
from PIL import Image

from repose_tf import viz
from repose_tf.skeleton import LSP14, Skeleton

H, W = 180, 140
# A frontal stick figure in a (H, W) image, long vertical shins for the dash test.
POSE = {
    "r_ankle": (45, 170), "r_knee": (45, 110), "r_hip": (50, 80),
    "l_hip": (90, 80), "l_knee": (95, 110), "l_ankle": (95, 170),
    "r_wrist": (15, 70), "r_elbow": (25, 50), "r_shoulder": (45, 35),
    "l_shoulder": (95, 35), "l_elbow": (115, 50), "l_wrist": (125, 70),
    "neck": (70, 25), "head": (70, 8),
}
KPTS = np.array([POSE[n] for n in LSP14.keypoints], dtype=np.float64)
BLACK = np.zeros((H, W, 3), np.uint8)
# A pixel is "drawn" when its brightest channel exceeds this (the background is 0).
INK = 60


def _png(fig, path: Path) -> np.ndarray:
    """Save ``fig`` with viz.save_png and read the PNG back as (H, W, 3) uint8."""
    out = viz.save_png(fig, path)
    return np.asarray(Image.open(out).convert("RGB"))


def _expected_size(fig) -> tuple[int, int]:
    w, h = fig.get_size_inches() * fig.dpi
    return int(round(h)), int(round(w))


def _inked(png: np.ndarray, x: float, y: float) -> bool:
    return bool(png[int(round(y)), int(round(x))].max() > INK)


def _segment_pixels(p: np.ndarray, q: np.ndarray, lo: float, hi: float) -> list[tuple[float, float]]:
    """One sample per pixel of length along p -> q between fractions lo and hi of it."""
    n = int(np.linalg.norm(q - p) * (hi - lo))
    return [tuple(p + t * (q - p)) for t in np.linspace(lo, hi, n)]


def _coverage(png: np.ndarray, p: np.ndarray, q: np.ndarray) -> float:
    """Fraction of inked pixels along the middle 70% of segment p -> q (clear of the markers)."""
    samples = _segment_pixels(p, q, 0.15, 0.85)
    return float(np.mean([_inked(png, x, y) for x, y in samples]))


def _distance_to_segments(segments: list[tuple[np.ndarray, np.ndarray]],
                          shape: tuple[int, int]) -> np.ndarray:
    """(H, W) distance of every pixel centre to the nearest segment."""
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    pts = np.stack([xx, yy], -1).astype(np.float64)
    best = np.full(shape, np.inf)
    for p, q in segments:
        d = q - p
        t = np.clip(((pts - p) @ d) / max(d @ d, 1e-12), 0.0, 1.0)
        best = np.minimum(best, np.linalg.norm(pts - (p + t[..., None] * d), axis=-1))
    return best


def test_edge_styles_lsp14_parts_colours_and_sides():
    styles = viz.edge_styles(LSP14)
    assert len(styles) == len(LSP14.edges)
    by_names = {(LSP14.keypoints[s.a], LSP14.keypoints[s.b]): s for s in styles}

    # 15 edges, 9 parts: mirror edges share a part and its colour, parts have distinct colours.
    assert len({s.part for s in styles}) == 9
    assert len({s.color for s in styles}) == 9
    for right, left in [(("r_ankle", "r_knee"), ("l_ankle", "l_knee")),
                        (("r_elbow", "r_wrist"), ("l_elbow", "l_wrist")),
                        (("r_hip", "r_shoulder"), ("l_hip", "l_shoulder")),
                        (("r_shoulder", "neck"), ("l_shoulder", "neck"))]:
        assert by_names[right].color == by_names[left].color
        assert by_names[right].side == "right" and by_names[right].linestyle == viz.SOLID
        assert by_names[left].side == "left" and by_names[left].dashed
    assert by_names[("r_ankle", "r_knee")].color != by_names[("r_knee", "r_hip")].color
    for centre in [("r_hip", "l_hip"), ("r_shoulder", "l_shoulder"), ("neck", "head")]:
        assert by_names[centre].side == "center" and not by_names[centre].dashed


def test_edge_styles_follow_a_custom_skeleton():
    face = Skeleton(
        name="face", keypoints=("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
        edges=(("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
               ("right_eye", "right_ear"), ("left_eye", "right_eye")),
        flip_pairs=(("left_eye", "right_eye"), ("left_ear", "right_ear")),
        ordering=("nose", "left_eye", "right_eye", "left_ear", "right_ear"))
    styles = viz.edge_styles(face)
    assert [s.part for s in styles] == [0, 0, 1, 1, 2]
    assert [s.side for s in styles] == ["left", "right", "left", "right", "center"]
    assert [s.dashed for s in styles] == [True, False, True, False, False]


def test_overlay_png_size_and_skeleton_where_the_keypoints_are(tmp_path):
    fig = viz.overlay_figure(BLACK, KPTS)
    png = _png(fig, tmp_path / "overlay.png")
    assert png.shape[:2] == _expected_size(fig) == (H, W)

    for x, y in KPTS:  # the white keypoint markers
        assert png[int(y), int(x)].min() > 200, (x, y)
    for style in viz.edge_styles(LSP14):
        mid = (KPTS[style.a] + KPTS[style.b]) / 2
        if style.dashed:  # a gap may fall on the exact midpoint: check the pixels around it
            p, q = KPTS[style.a], KPTS[style.b]
            near = _segment_pixels(p, q, 0.4, 0.6)
            assert any(_inked(png, x, y) for x, y in near), LSP14.keypoints[style.a]
        else:  # the midpoint carries the part's colour
            x, y = np.round(mid).astype(int)
            np.testing.assert_allclose(png[y, x] / 255, to_rgb(style.color), atol=0.12)

    # Far from every limb the image is still black.
    segments = [(KPTS[s.a], KPTS[s.b]) for s in viz.edge_styles(LSP14)]
    far = _distance_to_segments(segments, (H, W)) > 8
    assert far.mean() > 0.6
    assert png[far].max() == 0


def test_scale_and_title_keep_the_pixel_mapping(tmp_path):
    fig = viz.overlay_figure(BLACK, KPTS, scale=2.0, dpi=80, title="sample 3")
    png = _png(fig, tmp_path / "overlay2.png")
    assert png.shape[:2] == _expected_size(fig) == (2 * H, 2 * W)
    x, y = KPTS[LSP14.index("r_hip")]
    assert png[int(2 * (y + 0.5)), int(2 * (x + 0.5))].min() > 200
    assert png[: 2 * H // 12, : 2 * W // 4].max() > INK  # the title in the top-left corner


def test_left_limbs_dashed_right_limbs_solid(tmp_path):
    png = _png(viz.overlay_figure(BLACK, KPTS), tmp_path / "dash.png")
    for right, left in [(("r_knee", "r_ankle"), ("l_knee", "l_ankle")),
                        (("r_hip", "r_knee"), ("l_hip", "l_knee"))]:
        solid = _coverage(png, KPTS[LSP14.index(right[0])], KPTS[LSP14.index(right[1])])
        dashed = _coverage(png, KPTS[LSP14.index(left[0])], KPTS[LSP14.index(left[1])])
        assert solid == 1.0, right
        assert 0.3 < dashed < 0.85, (left, dashed)


def test_masked_and_missing_keypoints_are_not_drawn(tmp_path):
    visible = np.ones(LSP14.num_keypoints)
    visible[LSP14.index("head")] = 0
    kpts = KPTS.copy()
    kpts[LSP14.index("l_wrist")] = np.nan
    fig = viz.overlay_figure(BLACK, kpts, visible=visible)
    # 15 edges minus neck-head and l_elbow-l_wrist; 14 markers minus head and l_wrist.
    assert len(fig.axes[0].lines) == 13 + 12
    png = _png(fig, tmp_path / "masked.png")

    for name, drawn_neighbour in [("head", "neck"), ("l_wrist", "l_elbow")]:
        x, y = KPTS[LSP14.index(name)]
        assert png[int(y) - 3:int(y) + 4, int(x) - 3:int(x) + 4].max() == 0, name
        xm, ym = (KPTS[LSP14.index(name)] + KPTS[LSP14.index(drawn_neighbour)]) / 2
        assert png[int(ym) - 1:int(ym) + 2, int(xm) - 1:int(xm) + 2].max() == 0, name
    assert _inked(png, *KPTS[LSP14.index("neck")])


def test_scores_fade_low_confidence_keypoints_but_keep_them_legible():
    scores = np.ones(LSP14.num_keypoints)
    scores[LSP14.index("head")] = 0.0
    fig = viz.overlay_figure(BLACK, KPTS, scores=scores)
    rgb = viz.figure_to_rgb(fig)
    x, y = KPTS[LSP14.index("head")]
    xn, yn = KPTS[LSP14.index("neck")]
    assert rgb.shape == (H, W, 3)
    head, neck = int(rgb[int(y), int(x)].max()), int(rgb[int(yn), int(xn)].max())
    assert 0.5 * neck < head < 0.85 * neck  # drawn at MIN_OPACITY, over the faded limb


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match=r"keypoints must be \(K, 2\) = \(14, 2\)"):
        viz.overlay_figure(BLACK, KPTS[:13])
    with pytest.raises(ValueError, match="image must be uint8"):
        viz.overlay_figure(BLACK.astype(np.float32), KPTS)
    with pytest.raises(ValueError, match=r"visible must be \(K,\)"):
        viz.overlay_figure(BLACK, KPTS, visible=np.ones(3))
    with pytest.raises(ValueError, match="final_kpts"):
        viz.figure1_panel(BLACK, KPTS, KPTS, KPTS[:5])


def test_save_overlay_writes_png(tmp_path):
    out = viz.save_overlay(tmp_path / "sub" / "o.png", BLACK, KPTS, scale=0.5)
    png = np.asarray(Image.open(out).convert("RGB"))
    assert png.shape == (H // 2, W // 2, 3)
    assert png.std() > 5


def _heatmaps(size: int, kpts: np.ndarray, sigma: float = 2.0) -> np.ndarray:
    """(size, size, K) Gaussians at ``kpts`` given in (H, W) image pixels."""
    yy, xx = np.mgrid[0:size, 0:size]
    sx, sy = size / W, size / H
    return np.stack([np.exp(-((xx - (x + 0.5) * sx + 0.5) ** 2 + (yy - (y + 0.5) * sy + 0.5) ** 2)
                            / (2 * sigma ** 2)) for x, y in kpts], -1)


def test_heatmap_grid_has_one_named_panel_per_keypoint(tmp_path):
    hm = _heatmaps(32, KPTS)
    fig = viz.heatmap_grid(hm, image=BLACK, ncols=5, panel_size=1.0, title="grid")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == LSP14.num_keypoints
    assert len(fig.axes) == LSP14.num_keypoints + 1  # + the colour bar
    assert [ax.get_title().split(" ")[0] for ax in panels] == list(LSP14.keypoints)
    png = _png(fig, tmp_path / "grid.png")
    assert png.shape[:2] == _expected_size(fig)
    assert png.std() > 10

    with pytest.raises(ValueError, match=r"heatmaps must be \(h, w, K\) with K = 14"):
        viz.heatmap_grid(hm[..., :3])


def test_stage_heatmaps_figure_one_panel_per_output(tmp_path):
    hm = _heatmaps(32, KPTS)
    stages = {"pre_update": 0.5 * hm, "post_update": hm, "refine_16": hm[::2, ::2]}
    fig = viz.stage_heatmaps_figure(None, stages, "l_knee", panel_size=1.0)
    titled = [ax.get_title().split(" ")[0] for ax in fig.axes if ax.get_title()]
    assert titled == list(stages)
    assert fig.texts[0].get_text() == "l_knee"
    by_index = viz.stage_heatmaps_figure(BLACK, stages, LSP14.index("l_knee"), panel_size=1.0)
    assert by_index.texts[0].get_text() == "l_knee"
    png = _png(fig, tmp_path / "stages.png")
    assert png.shape[:2] == _expected_size(fig)
    assert png.std() > 10

    with pytest.raises(ValueError, match="no keypoint 'nose'"):
        viz.stage_heatmaps_figure(None, stages, "nose")
    with pytest.raises(ValueError, match="out of range"):
        viz.stage_heatmaps_figure(None, stages, 14)
    with pytest.raises(ValueError, match=r"heatmaps\['bad'\]"):
        viz.stage_heatmaps_figure(None, {"bad": hm[..., :2]}, 0)


def test_figure1_panel_three_titled_poses(tmp_path):
    shifted = KPTS + np.array([6.0, 0.0])
    fig = viz.figure1_panel(BLACK, shifted, KPTS, KPTS, panel_size=1.5)
    assert [ax.get_title() for ax in fig.axes] == ["pre-update", "post-update", "final"]
    assert [len(ax.lines) for ax in fig.axes] == [len(LSP14.edges) + LSP14.num_keypoints] * 3
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xydata(), shifted[[0, 1]])
    png = _png(fig, tmp_path / "fig1.png")
    assert png.shape[:2] == _expected_size(fig)
    assert png.std() > 10


def test_training_curves_from_keras_csv(tmp_path):
    log = tmp_path / "log.csv"
    log.write_text(
        "epoch,learning_rate,loss,pre_update_loss,pck,val_loss,val_pck\n"
        "0,0.001,1.0,2.0,10,1.2,8\n"
        "1,0.0005,0.5,1.0,30,0.7,NA\n"
        "2,0.00025,0.25,0.5,50,0.4,40\n")
    columns = viz.load_training_log(log)
    assert np.isnan(columns["val_pck"][1])
    fig = viz.training_curves(log, title="run")
    panels = {ax.get_title(): [line.get_label() for line in ax.lines] for ax in fig.axes}
    assert panels == {"loss": ["loss", "val_loss"], "output losses": ["pre_update_loss"],
                      "metrics": ["pck", "val_pck"], "learning rate": ["learning_rate"]}
    assert fig.axes[0].get_xlabel() == "epoch"
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), [1.2, 0.7, 0.4])
    png = _png(fig, tmp_path / "curves.png")
    assert png.shape[:2] == _expected_size(fig)
    assert png.std() > 10


def test_training_curves_of_a_run_history_plot_against_step(tmp_path):
    # repose_tf.train's history.csv: step is the x axis and epoch a counter, not a metric.
    history = tmp_path / "history.csv"
    history.write_text("epoch,learning_rate,loss,step,val_pck\n0,0.001,1.0,125,nan\n1,0.0005,0.5,250,20.5\n")
    fig = viz.training_curves(history)
    assert fig.axes[0].get_xlabel() == "step"
    assert [line.get_label() for ax in fig.axes if ax.get_title() == "metrics" for line in ax.lines] == ["val_pck"]


def test_training_curves_tolerate_missing_columns_and_reject_bad_ones(tmp_path):
    fig = viz.training_curves({"loss": [3.0, 2.0, 1.5], "val_pck": [np.nan, np.nan, np.nan]})
    assert [ax.get_title() for ax in fig.axes] == ["loss"]
    assert fig.axes[0].get_xlabel() == "row"

    bad = tmp_path / "bad.csv"
    bad.write_text("epoch,loss\n0,1.0\n1,oops\n")
    with pytest.raises(ValueError, match=r"bad\.csv: line 3, column 'loss': 'oops'"):
        viz.training_curves(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(ValueError, match="empty.csv: empty training log"):
        viz.training_curves(empty)
    with pytest.raises(ValueError, match="no metric column"):
        viz.training_curves({"epoch": [0, 1]})
    with pytest.raises(ValueError, match="equal length"):
        viz.training_curves({"loss": [1.0, 2.0], "val_loss": [1.0]})


def test_pck_curves_parts_and_mean(tmp_path):
    t = np.linspace(0.0, 0.5, 6)
    rates = np.tile(np.linspace(0, 90, 6)[:, None], (1, LSP14.num_keypoints))
    rates[:, LSP14.index("l_wrist")] = 10.0
    rates[:, LSP14.index("r_wrist")] = 30.0
    fig = viz.pck_curves(t, rates, metric="PCKh")
    ax = fig.axes[0]
    labels = [line.get_label().split(" ")[0] for line in ax.lines]
    assert labels == [part for part, _ in LSP14.parts] + ["Mean"]
    np.testing.assert_allclose(ax.lines[labels.index("Wrist")].get_ydata(), 20.0)
    np.testing.assert_allclose(ax.lines[-1].get_ydata(), rates.mean(axis=1))
    assert ax.get_ylabel() == "PCKh (%)"
    png = _png(fig, tmp_path / "pck.png")
    assert png.shape[:2] == _expected_size(fig)
    assert png.std() > 10

    given = viz.pck_curves(t, {"Head": t * 100, "Mean": t * 50}).axes[0]
    assert [line.get_label().split(" ")[0] for line in given.lines] == ["Head", "Mean"]
    np.testing.assert_allclose(given.lines[1].get_ydata(), t * 50)
    with pytest.raises(ValueError, match=r"rates must be \(T, K\) = \(6, 14\)"):
        viz.pck_curves(t, rates[:, :3])
    with pytest.raises(ValueError, match=r"rates\['Head'\] must be \(T,\)"):
        viz.pck_curves(t, {"Head": t[:2]})


def test_figures_never_enter_pyplot():
    viz.overlay_figure(BLACK, KPTS)
    viz.pck_curves([0.1, 0.2], np.ones((2, LSP14.num_keypoints)))
    assert pyplot.get_fignums() == []


def test_large_images_are_downscaled_for_overlays(tmp_path: Path):
    image = np.zeros((3000, 1500, 3), np.uint8)
    keypoints = np.array([[0.0, 0.0], [1499.0, 2999.0]] + [[750.0, 1500.0]] * 12)
    small, moved = viz.downscaled(image, keypoints, 1000)
    assert small.shape == (1000, 500, 3)
    np.testing.assert_allclose(moved[:3], [[-1 / 3, -1 / 3], [499 + 1 / 3, 999 + 1 / 3], [250 - 1 / 3, 500 - 1 / 3]])
    assert viz.downscaled(image, keypoints, 4000)[0] is image
    path = viz.save_overlay(tmp_path / "big.png", image, keypoints, max_side=600)
    with Image.open(path) as png:
        assert max(png.size) <= 600


def test_a_metric_logged_every_other_row_is_one_line_through_its_values():
    fig = viz.training_curves({"step": [1, 2, 3, 4], "loss": [4.0, 3.0, 2.0, 1.0],
                               "val_pck": [np.nan, 20.0, np.nan, 30.0]})
    (line,) = [line for ax in fig.axes if ax.get_title() == "metrics" for line in ax.lines]
    np.testing.assert_array_equal(line.get_xdata(), [2, 4])
    np.testing.assert_array_equal(line.get_ydata(), [20.0, 30.0])
