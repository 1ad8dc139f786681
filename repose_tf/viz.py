"""Matplotlib figures: pose overlays, heatmap grids, the paper's Figure-1 panel, training and PCK curves.

Conventions:

* Keypoints are ``(K, 2)`` float ``(x, y)`` in image pixels, pixel centres at integer
  coordinates (as in :mod:`repose_tf.codec`), in the order of a
  :class:`~repose_tf.skeleton.Skeleton` (default :data:`~repose_tf.skeleton.LSP14`).
  Non-finite coordinates are treated as not visible.
* Images are ``(H, W, 3)`` (or ``(H, W)`` grey) ``uint8``.  Heatmaps are ``(h, w, K)`` float
  and cover the same field of view as the image they are drawn over (the model's heatmaps
  have the input's resolution), so they are stretched to the image when sizes differ.
* Pose style, as in the paper's Figure 4: every body part (an edge of the skeleton together
  with its mirror image under the skeleton's flip pairs: lower leg, upper leg, forearm, ...)
  has its own colour; person-centric right parts are solid, left parts dashed, parts joining
  both sides (hip-hip, shoulder-shoulder) or on the midline solid.
* Every function builds a :class:`matplotlib.figure.Figure` with an Agg canvas directly,
  never through ``pyplot``: no GUI backend is touched, nothing is shown, and figures are not
  registered in pyplot's global figure list, so they are freed with their last reference and
  never leak.  They still display inline in notebooks.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Colormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from PIL import Image

from repose_tf.eval.metrics import MEAN
from repose_tf.skeleton import LSP14, Skeleton

RGBA = tuple[float, float, float, float]

SOLID = "-"
# Dash pattern in multiples of the line width: 3 on, 2 off.
DASHED = (0, (3.0, 2.0))

HEATMAP_CMAP = "inferno"
# Columns of a Keras CSVLogger file that hold the x axis or the learning rate.
_X_COLUMNS = ("step", "epoch", "iteration")
_LR_COLUMNS = ("lr", "learning_rate")
# Cells Keras' CSVLogger writes for a metric missing from an epoch's logs.
_MISSING_CELLS = ("", "na", "nan", "none")


@dataclasses.dataclass(frozen=True)
class EdgeStyle:
    """How one skeleton edge is drawn.

    Attributes:
      a, b: keypoint indices of the edge's ends.
      part: index of the edge's body part (the edge and its mirror image share one).
      side: person-centric side of the part: ``"right"``, ``"left"`` or ``"center"``.
      color: RGBA colour of the part.
      linestyle: :data:`SOLID` for right and centre parts, :data:`DASHED` for left ones.
    """

    a: int
    b: int
    part: int
    side: str
    color: RGBA
    linestyle: str | tuple

    @property
    def dashed(self) -> bool:
        return self.linestyle == DASHED


MIN_OPACITY = 0.6  # of a pose drawn with scores (draw_pose)


def _palette(n: int) -> list[RGBA]:
    """``n`` distinct colours: tab10, tab20, or evenly spaced hues beyond 20."""
    if n <= 10:
        cmap = colormaps["tab10"]
        return [cmap(i) for i in range(n)]
    if n <= 20:
        cmap = colormaps["tab20"]
        return [cmap(i) for i in range(n)]
    cmap = colormaps["hsv"]
    return [cmap(i / n) for i in range(n)]


def edge_styles(skeleton: Skeleton = LSP14) -> tuple[EdgeStyle, ...]:
    """The colour and line style of every edge of ``skeleton``, in ``skeleton.edges`` order.

    Parts are numbered by first appearance in ``skeleton.edges``; an edge and the edge its
    flip pairs map it to form one part (for LSP14: 9 parts for 15 edges).
    """
    perm = skeleton.flip_permutation
    part_of: dict[frozenset[int], int] = {}
    num_parts = 0
    pending = []
    for a_name, b_name in skeleton.edges:
        a, b = skeleton.index(a_name), skeleton.index(b_name)
        key = frozenset((a, b))
        if key not in part_of:
            part_of[key] = part_of[frozenset((perm[a], perm[b]))] = num_parts
            num_parts += 1
        sides = {skeleton.side(a_name), skeleton.side(b_name)} - {"center"}
        side = sides.pop() if len(sides) == 1 else "center"
        pending.append((a, b, part_of[key], side))
    colors = _palette(num_parts)
    return tuple(EdgeStyle(a=a, b=b, part=part, side=side, color=colors[part],
                           linestyle=DASHED if side == "left" else SOLID)
                 for a, b, part, side in pending)


def _check_keypoints(keypoints: np.ndarray, skeleton: Skeleton, what: str = "keypoints") -> np.ndarray:
    kpts = np.asarray(keypoints, dtype=np.float64)
    if kpts.shape != (skeleton.num_keypoints, 2):
        raise ValueError(f"{what} must be (K, 2) = ({skeleton.num_keypoints}, 2) for skeleton "
                         f"{skeleton.name!r}; got {kpts.shape}")
    return kpts


def _check_per_keypoint(values: np.ndarray | Sequence[float] | None, skeleton: Skeleton,
                        what: str) -> np.ndarray | None:
    if values is None:
        return None
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (skeleton.num_keypoints,):
        raise ValueError(f"{what} must be (K,) = ({skeleton.num_keypoints},) for skeleton "
                         f"{skeleton.name!r}; got {arr.shape}")
    return arr


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim not in (2, 3) or (img.ndim == 3 and img.shape[-1] != 3) or img.dtype != np.uint8:
        raise ValueError(f"image must be uint8 (H, W, 3) or (H, W); got {img.dtype} {img.shape}")
    return img


def _check_heatmaps(heatmaps: np.ndarray, skeleton: Skeleton, what: str = "heatmaps") -> np.ndarray:
    hm = np.asarray(heatmaps, dtype=np.float64)
    if hm.ndim != 3 or hm.shape[-1] != skeleton.num_keypoints:
        raise ValueError(f"{what} must be (h, w, K) with K = {skeleton.num_keypoints} for skeleton "
                         f"{skeleton.name!r}; got {hm.shape}")
    return hm


def _new_figure(figsize: tuple[float, float], dpi: float = 100, layout: str | None = None) -> Figure:
    """An Agg-backed figure, its size snapped to whole pixels so PNGs are exactly figsize x dpi."""
    w, h = (max(1, round(size * dpi)) / dpi for size in figsize)
    fig = Figure(figsize=(w, h), dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def draw_pose(ax: Axes, keypoints: np.ndarray, skeleton: Skeleton = LSP14, *,
              visible: np.ndarray | Sequence[float] | None = None,
              scores: np.ndarray | Sequence[float] | None = None,
              linewidth: float = 2.5) -> list[Line2D]:
    """Draw a skeleton on ``ax`` in the paper's Figure-4 style (see :func:`edge_styles`).

    Args:
      ax: axes in image pixel coordinates (e.g. after ``ax.imshow(image)``).
      keypoints: (K, 2) ``(x, y)`` pixels.
      skeleton: the keypoint set.
      visible: (K,) mask; keypoints where it is 0 (and their edges) are not drawn.
        Default: every keypoint with finite coordinates.
      scores: (K,) confidences in [0, 1]; a keypoint's marker is drawn with opacity
        ``clip(score, MIN_OPACITY, 1)`` and an edge with the lower opacity of its two ends (heatmap
        maxima of a good prediction are often near 0.5, so the floor keeps the pose legible).
      linewidth: limb line width in points; markers scale with it.

    Returns:
      The drawn lines: one per drawn edge, then the keypoint markers (if any).
    """
    kpts = _check_keypoints(keypoints, skeleton)
    mask = _check_per_keypoint(visible, skeleton, "visible")
    conf = _check_per_keypoint(scores, skeleton, "scores")
    shown = np.all(np.isfinite(kpts), axis=1)
    if mask is not None:
        shown &= mask != 0
    alpha = np.ones(skeleton.num_keypoints) if conf is None else np.clip(conf, MIN_OPACITY, 1.0)

    artists: list[Line2D] = []
    for style in edge_styles(skeleton):
        if not (shown[style.a] and shown[style.b]):
            continue
        xy = kpts[[style.a, style.b]]
        (line,) = ax.plot(xy[:, 0], xy[:, 1], color=style.color, linestyle=style.linestyle,
                          linewidth=linewidth, alpha=min(alpha[style.a], alpha[style.b]),
                          solid_capstyle="round", zorder=2)
        artists.append(line)
    for k in np.flatnonzero(shown):
        (marker,) = ax.plot(kpts[k, 0], kpts[k, 1], linestyle="none", marker="o",
                            markersize=2.2 * linewidth, markerfacecolor="white",
                            markeredgecolor="black", markeredgewidth=0.3 * linewidth,
                            alpha=alpha[k], zorder=3)
        artists.append(marker)
    return artists


def _show_image(ax: Axes, image: np.ndarray) -> None:
    """Image at pixel coordinates (pixel centres at integers), no ticks or frame."""
    h, w = image.shape[:2]
    ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=255)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_axis_off()


def overlay_figure(image: np.ndarray, keypoints: np.ndarray, skeleton: Skeleton = LSP14, *,
                   visible: np.ndarray | Sequence[float] | None = None,
                   scores: np.ndarray | Sequence[float] | None = None,
                   title: str | None = None, scale: float = 1.0, dpi: float = 100,
                   linewidth: float | None = None) -> Figure:
    """The image with the pose drawn on it, one image pixel = ``scale`` x ``scale`` figure pixels.

    The axes fill the whole figure (no margins), so the PNG is ``(scale H, scale W)`` pixels
    and pixel ``(x, y)`` of the image is at ``(scale (x + 0.5), scale (y + 0.5))`` in it.

    Args:
      image: (H, W, 3) or (H, W) uint8.
      keypoints, skeleton, visible, scores: as :func:`draw_pose`.
      title: drawn in the top-left corner, inside the image.
      scale: upsampling of the figure, e.g. 4 for a 128 x 128 crop.
      dpi: figure resolution; only affects the size of lines and text in pixels.
      linewidth: limb width in points; default grows with the figure's shorter side.
    """
    img = _check_image(image)
    h, w = img.shape[:2]
    if scale <= 0:
        raise ValueError(f"scale must be positive; got {scale}")
    fig = _new_figure((w * scale / dpi, h * scale / dpi), dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    _show_image(ax, img)
    if linewidth is None:
        linewidth = float(np.clip(min(h, w) * scale / 150.0, 1.5, 6.0))
    draw_pose(ax, keypoints, skeleton, visible=visible, scores=scores, linewidth=linewidth)
    if title:
        ax.text(0.02, 0.98, title, transform=ax.transAxes, va="top", ha="left",
                fontsize=max(6.0, 3.0 * linewidth), color="white",
                bbox={"facecolor": "black", "alpha": 0.5, "edgecolor": "none", "pad": 2})
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write ``fig`` as a PNG of ``figsize x dpi`` pixels (no tight bbox), creating parent folders."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=fig.dpi)
    return out


def downscaled(image: np.ndarray, keypoints: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` (H, W, 3) uint8 shrunk so that its longer side is at most ``max_side`` (bilinear), with
    ``keypoints`` (K, 2) moved to match (pixel centres at integers); both unchanged if already small."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image, keypoints
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = np.asarray(Image.fromarray(image).resize(size, Image.BILINEAR))
    return small, (np.asarray(keypoints, np.float64) + 0.5) * (np.array(size) / (w, h)) - 0.5


def save_overlay(path: str | Path, image: np.ndarray, keypoints: np.ndarray,
                 skeleton: Skeleton = LSP14, max_side: int | None = None, **kwargs) -> Path:
    """:func:`overlay_figure` written to ``path`` as PNG; ``kwargs`` as :func:`overlay_figure`.

    ``max_side``: draw on a copy downscaled to at most this many pixels a side (:func:`downscaled`): a
    full-size overlay of a 7000 x 7000 photo takes gigabytes in matplotlib.
    """
    if max_side is not None:
        image, keypoints = downscaled(image, keypoints, max_side)
    return save_png(overlay_figure(image, keypoints, skeleton, **kwargs), path)


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render ``fig`` to a (H, W, 3) uint8 array (e.g. for TensorBoard image summaries)."""
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _image_panels(n: int, ncols: int, panel_w: float, panel_h: float, *, colorbar: bool,
                  title: str | None) -> tuple[Figure, list[Axes], Axes | None]:
    """A figure of ``n`` image panels (``panel_w`` x ``panel_h`` inches, row-major, ``ncols`` a row),
    each with room for a title above, an optional colour-bar axes on the right and an optional
    figure title.  Laid out by hand: constrained layout costs seconds per figure this size.
    """
    margin, gap, title_h, suptitle_h, cbar_w, cbar_room = 0.1, 0.1, 0.3, 0.4, 0.15, 0.9
    nrows = math.ceil(n / ncols)
    top = suptitle_h if title else 0.0
    fig_w = 2 * margin + ncols * panel_w + (ncols - 1) * gap + (cbar_room if colorbar else 0.0)
    fig_h = 2 * margin + nrows * (panel_h + title_h) + top
    fig = _new_figure((fig_w, fig_h))
    axes = []
    for i in range(n):
        row, col = divmod(i, ncols)
        x = margin + col * (panel_w + gap)
        y = fig_h - top - margin - (row + 1) * (panel_h + title_h)
        axes.append(fig.add_axes((x / fig_w, y / fig_h, panel_w / fig_w, panel_h / fig_h)))
    cax = None
    if colorbar:
        x = fig_w - margin - cbar_room + gap
        height = fig_h - top - 2 * margin - title_h
        cax = fig.add_axes((x / fig_w, (margin + 0.1 * height) / fig_h,
                            cbar_w / fig_w, 0.8 * height / fig_h))
    if title:
        fig.suptitle(title, y=1.0 - 0.5 * suptitle_h / fig_h, va="center")
    return fig, axes, cax


def _heat_norm(*heatmaps: np.ndarray) -> Normalize:
    """One colour scale for all panels: 0 to the largest value (at least a tiny positive)."""
    top = max(float(np.nanmax(h)) if h.size else 0.0 for h in heatmaps)
    return Normalize(vmin=0.0, vmax=max(top, 1e-6))


def _heat_panel(ax: Axes, heat: np.ndarray, image: np.ndarray | None, norm: Normalize,
                cmap: Colormap) -> None:
    """One (h, w) heatmap, over a dimmed grey ``image`` if given, with its argmax marked.

    Over an image the heatmap's opacity follows its value, so cold regions show the image.
    """
    if image is None:
        height, width = heat.shape
        ax.imshow(heat, cmap=cmap, norm=norm)
    else:
        height, width = image.shape[:2]
        grey = image if image.ndim == 2 else image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        ax.imshow(0.6 * grey, cmap="gray", vmin=0, vmax=255)
        level = np.clip(norm(heat), 0.0, 1.0)
        rgba = cmap(level)
        rgba[..., 3] = 0.85 * level
        ax.imshow(rgba, extent=(-0.5, width - 0.5, height - 0.5, -0.5))
    row, col = np.unravel_index(np.nanargmax(heat), heat.shape)
    sx, sy = width / heat.shape[1], height / heat.shape[0]
    ax.plot((col + 0.5) * sx - 0.5, (row + 0.5) * sy - 0.5, marker="+", color="cyan",
            markersize=6, markeredgewidth=0.8, linestyle="none")
    ax.set_xlim(-0.5, width - 0.5)
    ax.set_ylim(height - 0.5, -0.5)
    ax.set_axis_off()


def heatmap_grid(heatmaps: np.ndarray, image: np.ndarray | None = None, skeleton: Skeleton = LSP14, *,
                 ncols: int = 7, panel_size: float = 2.0, title: str | None = None) -> Figure:
    """One panel per keypoint: its heatmap (over ``image`` if given), titled with its name and peak.

    Args:
      heatmaps: (h, w, K) float.
      image: optional (H, W, 3) or (H, W) uint8 underlay, same field of view as the heatmaps.
      skeleton: names the K channels.
      ncols: panels per row.
      panel_size: panel side in inches.
      title: figure title.

    Returns:
      A figure with K image axes (row-major in keypoint order) and one colour bar; the
      argmax of each heatmap is marked with a cyan ``+``.
    """
    hm = _check_heatmaps(heatmaps, skeleton)
    img = None if image is None else _check_image(image)
    if ncols < 1:
        raise ValueError(f"ncols must be >= 1; got {ncols}")
    k = skeleton.num_keypoints
    height, width = (img if img is not None else hm).shape[:2]
    fig, axes, cax = _image_panels(k, min(ncols, k), panel_size * width / height, panel_size,
                                   colorbar=True, title=title)
    norm, cmap = _heat_norm(hm), colormaps[HEATMAP_CMAP]
    for i, (ax, name) in enumerate(zip(axes, skeleton.keypoints)):
        _heat_panel(ax, hm[..., i], img, norm, cmap)
        ax.set_title(f"{name} ({np.nanmax(hm[..., i]):.2f})", fontsize=9)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, label="heatmap value")
    return fig


def figure1_panel(image: np.ndarray, pre_update_kpts: np.ndarray, post_update_kpts: np.ndarray,
                  final_kpts: np.ndarray, skeleton: Skeleton = LSP14, *,
                  visible: np.ndarray | Sequence[float] | None = None,
                  titles: Sequence[str] = ("pre-update", "post-update", "final"),
                  panel_size: float = 3.0) -> Figure:
    """The paper's Figure 1 for one image: the pose decoded from the pre-update heatmaps, from
    the post-update heatmaps, and the final refined pose, side by side.

    Args:
      image: (H, W, 3) or (H, W) uint8.
      pre_update_kpts, post_update_kpts, final_kpts: (K, 2) ``(x, y)`` in image pixels.
      skeleton: the keypoint set.
      visible: (K,) mask applied to all three poses (see :func:`draw_pose`).
      titles: the three panel titles.
      panel_size: panel height in inches (width follows the image's aspect ratio).
    """
    img = _check_image(image)
    poses = {"pre_update_kpts": pre_update_kpts, "post_update_kpts": post_update_kpts,
             "final_kpts": final_kpts}
    checked = [_check_keypoints(kpts, skeleton, what) for what, kpts in poses.items()]
    if len(titles) != 3:
        raise ValueError(f"titles must name the 3 panels; got {list(titles)}")
    h, w = img.shape[:2]
    fig, axes, _ = _image_panels(3, 3, panel_size * w / h, panel_size, colorbar=False, title=None)
    for ax, kpts, name in zip(axes, checked, titles):
        _show_image(ax, img)
        draw_pose(ax, kpts, skeleton, visible=visible, linewidth=2.0)
        ax.set_title(name)
    return fig


def stage_heatmaps_figure(image: np.ndarray | None, heatmaps: Mapping[str, np.ndarray],
                          keypoint: int | str, skeleton: Skeleton = LSP14, *,
                          panel_size: float = 2.5) -> Figure:
    """One keypoint's heatmap at every model output, side by side in ``heatmaps`` order.

    Args:
      image: optional (H, W, 3) or (H, W) uint8 underlay.
      heatmaps: output name -> (h, w, K) heatmaps of one example, e.g. ``pre_update``,
        ``post_update``, ``refine_16`` ... ``refine_128`` (sizes may differ).
      keypoint: index or name in ``skeleton``.
      skeleton: the keypoint set.
      panel_size: panel side in inches.
    """
    if not heatmaps:
        raise ValueError("heatmaps is empty: pass output name -> (h, w, K) heatmaps")
    img = None if image is None else _check_image(image)
    if isinstance(keypoint, str):
        k = skeleton.index(keypoint)
    elif 0 <= keypoint < skeleton.num_keypoints:
        k = int(keypoint)
    else:
        raise ValueError(f"keypoint index {keypoint} out of range for skeleton {skeleton.name!r} "
                         f"with {skeleton.num_keypoints} keypoints")
    channels = {name: _check_heatmaps(hm, skeleton, f"heatmaps[{name!r}]")[..., k]
                for name, hm in heatmaps.items()}
    height, width = (img if img is not None else next(iter(channels.values()))).shape[:2]
    fig, axes, cax = _image_panels(len(channels), len(channels), panel_size * width / height,
                                   panel_size, colorbar=True, title=skeleton.keypoints[k])
    norm, cmap = _heat_norm(*channels.values()), colormaps[HEATMAP_CMAP]
    for ax, (name, heat) in zip(axes, channels.items()):
        _heat_panel(ax, heat, img, norm, cmap)
        ax.set_title(f"{name} ({np.nanmax(heat):.2f})", fontsize=9)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), cax=cax, label="heatmap value")
    return fig


def load_training_log(path: str | Path) -> dict[str, np.ndarray]:
    """Read a Keras ``CSVLogger`` file: column name -> (N,) float64 (missing cells NaN).

    Raises:
      ValueError: empty file, ragged row, or a non-numeric cell (file, line and column named).
    """
    path = Path(path)
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if not rows or not any(rows[0]):
        raise ValueError(f"{path}: empty training log (no header row)")
    header = [name.strip() for name in rows[0]]
    values = np.full((len(rows) - 1, len(header)), np.nan)
    for i, row in enumerate(rows[1:]):
        if len(row) != len(header):
            raise ValueError(f"{path}: line {i + 2} has {len(row)} cells, the header has {len(header)}")
        for j, cell in enumerate(row):
            if cell.strip().lower() in _MISSING_CELLS:
                continue
            try:
                values[i, j] = float(cell)
            except ValueError:
                raise ValueError(f"{path}: line {i + 2}, column {header[j]!r}: "
                                 f"{cell!r} is not a number") from None
    return {name: values[:, j] for j, name in enumerate(header)}


def _base_metric(column: str) -> str:
    return column[4:] if column.startswith("val_") else column


def training_curves(log: str | Path | Mapping[str, Sequence[float] | np.ndarray], *,
                    title: str | None = None, panel_size: float = 4.0) -> Figure:
    """Training history: loss, per-output losses, other metrics and the learning rate.

    Args:
      log: a Keras ``CSVLogger`` file or column name -> values.  The x axis is the first of
        ``step``, ``epoch``, ``iteration`` present (else the row number).  Panels, each only
        if it has data: ``loss`` / ``val_loss``; the other ``*loss`` columns (per-output
        losses); the other metrics (e.g. ``pck``, ``val_pck``); ``lr`` or ``learning_rate``
        (log scale).  A metric and its ``val_`` twin share a colour, validation dashed.
        Missing columns are fine; all-NaN columns are skipped.
      title: figure title.
      panel_size: panel height in inches.

    Raises:
      ValueError: columns of different lengths, or nothing to plot.
    """
    where = str(log) if isinstance(log, (str, Path)) else "training log"
    columns = (load_training_log(log) if isinstance(log, (str, Path))
               else {name: np.asarray(v, dtype=np.float64) for name, v in log.items()})
    lengths = {name: v.shape for name, v in columns.items()}
    if len(set(lengths.values())) > 1 or any(len(shape) != 1 for shape in lengths.values()):
        raise ValueError(f"{where}: columns must be 1-D and of equal length; got shapes {lengths}")
    x_name = next((c for c in _X_COLUMNS if c in columns), None)
    n = len(next(iter(columns.values()))) if columns else 0
    x = columns[x_name] if x_name else np.arange(n, dtype=np.float64)

    groups: dict[str, list[str]] = {"loss": [], "output losses": [], "metrics": [], "learning rate": []}
    for name, values in columns.items():
        if name in _X_COLUMNS or not np.any(np.isfinite(values)):  # counters are axes, not metrics
            continue
        base = _base_metric(name)
        if name in _LR_COLUMNS:
            groups["learning rate"].append(name)
        elif base == "loss":
            groups["loss"].append(name)
        elif base.endswith("loss"):
            groups["output losses"].append(name)
        else:
            groups["metrics"].append(name)
    groups = {g: names for g, names in groups.items() if names}
    if not groups:
        raise ValueError(f"{where}: no metric column with data to plot (columns: {list(columns)})")

    fig = _new_figure((panel_size * 1.2 * len(groups), panel_size), layout="constrained")
    for ax, (group, names) in zip(fig.subplots(1, len(groups), squeeze=False)[0], groups.items()):
        bases = list(dict.fromkeys(_base_metric(nm) for nm in names))
        colors = _palette(len(bases))
        for name in names:
            # Only the logged rows: a metric logged every few rows (val_pck) is one line through them.
            logged = np.isfinite(columns[name])
            ax.plot(x[logged], columns[name][logged], color=colors[bases.index(_base_metric(name))],
                    linestyle="--" if name.startswith("val_") else "-",
                    marker="." if n <= 50 else None, label=name)
        finite = np.concatenate([columns[nm][np.isfinite(columns[nm])] for nm in names])
        if group != "metrics" and np.all(finite > 0):
            ax.set_yscale("log")
        ax.set_title(group)
        ax.set_xlabel(x_name or "row")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return fig


def pck_curves(thresholds: np.ndarray | Sequence[float],
               rates: np.ndarray | Mapping[str, np.ndarray | Sequence[float]],
               skeleton: Skeleton = LSP14, *, mean: np.ndarray | Sequence[float] | None = None,
               metric: str = "PCK", title: str | None = None) -> Figure:
    """PCK (in %) versus the normalized distance threshold, one curve per part plus the mean.

    For a :class:`~repose_tf.eval.metrics.PCKCurve` ``c``:
    ``pck_curves(c.thresholds, c.rates, mean=c.pooled())``.

    Args:
      thresholds: (T,) thresholds (fractions of the reference length).
      rates: (T, K) per-keypoint percentages, averaged into ``skeleton.parts`` (a part is the
        plain mean of its members, e.g. left and right; per keypoint if the skeleton has no
        parts), or part name -> (T,) percentages, plotted as given (a ``"Mean"`` entry is
        taken as the mean curve).
      skeleton: gives the parts for (T, K) rates.
      mean: (T,) mean curve.  Default: the ``"Mean"`` entry of a dict, else the plain mean
        of the K keypoints (equal to the benchmarks' pooled Mean when every keypoint is
        counted equally often, as on LSP) or of the dict's curves.
      metric: y-axis name, e.g. ``"PCKh"``.
      title: axes title.

    Returns:
      A figure with one axes; legend entries carry each curve's value at the last threshold.
    """
    t = np.asarray(thresholds, dtype=np.float64)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"thresholds must be a non-empty 1-D array; got shape {t.shape}")
    if isinstance(rates, Mapping):
        curves = {}
        for name, values in rates.items():
            arr = np.asarray(values, dtype=np.float64)
            if arr.shape != t.shape:
                raise ValueError(f"rates[{name!r}] must be (T,) = {t.shape}; got {arr.shape}")
            curves[name] = arr
        mean_curve = curves.pop(MEAN, None)
        if mean_curve is None and curves:
            mean_curve = np.mean(list(curves.values()), axis=0)
    else:
        arr = np.asarray(rates, dtype=np.float64)
        if arr.shape != (t.size, skeleton.num_keypoints):
            raise ValueError(f"rates must be (T, K) = ({t.size}, {skeleton.num_keypoints}) for "
                             f"skeleton {skeleton.name!r}; got {arr.shape}")
        curves = {part: arr[:, [skeleton.index(m) for m in members]].mean(axis=1)
                  for part, members in skeleton.table_parts}
        mean_curve = arr.mean(axis=1)
    if mean is not None:
        mean_curve = np.asarray(mean, dtype=np.float64)
        if mean_curve.shape != t.shape:
            raise ValueError(f"mean must be (T,) = {t.shape}; got {mean_curve.shape}")

    fig = _new_figure((6.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    for (name, curve), color in zip(curves.items(), _palette(len(curves))):
        ax.plot(t, curve, color=color, linewidth=1.5, label=f"{name} ({curve[-1]:.1f})")
    if mean_curve is not None:
        ax.plot(t, mean_curve, color="black", linewidth=2.5, label=f"{MEAN} ({mean_curve[-1]:.1f})")
    ax.set_xlim(t.min(), t.max())
    ax.set_ylim(0, 100)
    ax.set_xlabel("normalized distance threshold")
    ax.set_ylabel(f"{metric} (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    if title:
        ax.set_title(title)
    return fig
