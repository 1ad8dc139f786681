"""Model configuration: a frozen dataclass and named presets for every experiment of the paper.

Notation follows Sec. 3.1: a convolutional block is Conv2D -> ReLU -> BatchNorm; ``(K,S,F)^r`` is r of
them and ``_u`` a block without BatchNorm.  f = (3,1,64)^4, d = (5,2,64), v = (1,1,32), p = (3,1,K)_u.

    >>> from repose_tf.config import get_config
    >>> get_config("repose").coarsest
    16
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from repose_tf.skeleton import (
    LSP14,
    TOP_DOWN_ORDER,
    Skeleton,
    get_skeleton,
)

UPDATE_STRATEGIES = ("trainable", "add", "replace", "sequential", "none")
POST_UPDATE_HEADS = ("per_keypoint", "joint")
HEATMAP_INITS = ("small", "glorot")


@dataclasses.dataclass(frozen=True)
class RePoseConfig:
    """Hyper-parameters of one RePose network.

    Attributes:
      name: preset name (free text for custom configs).
      input_size: n, side of the square input crop (128 in the paper).
      coarsest: side of the coarsest feature map, where features are decoupled and the kinematic
        updates run (16 in the paper; Table 3 tries 8 and 32).  ``input_size / coarsest`` must be a power of 2.
      width: F of the f and d blocks and of every decoder projection (64).
      keypoint_width: channels of each decoupled keypoint feature set, of v, h_k, g_k and the heads (32).
      f_blocks: r of f = (3,1,width)^r (4).
      head_blocks: r of each per-keypoint heatmap head (3,1,32)^r + (3,1,1)_u (4, footnote 2).
      update_blocks: r of g_k = (3,1,32)^r in eq. (2) (4; Table 4 tries 1-5).
      update_strategy: how eq. (2) mixes old and new features: "trainable" (f + λ g(h(c)), the paper),
        "add" (f + g(h(c))), "replace" (g(h(c))) (Table 5); "sequential": a plain chain of convolutional
        blocks of about the same parameter count instead of kinematic updates (Sec. 4.1); "none": no
        decoupling and no updates, the UNet/Hourglass-style network RePose reduces to (Sec. 3.1).
      update_passes: passes of kinematic updates; pass 2 runs in reversed order with its own weights (2).
      ordering: update order of pass 1, keypoint names (Figure 3); None (the default): the
        skeleton's own (:attr:`Skeleton.ordering`: Figure 3's for LSP14, derived from the graph
        for a skeleton that gives none), so a custom skeleton needs no ordering here.  An
        ordering equal to the skeleton's is stored as None.  :attr:`update_order` is the one used.
      skeleton: keypoint set with its edges E (the connectivity of Figure 3).
      post_update_head: "per_keypoint" (the paper) or "joint" (one head on the projected
        concatenation of all post-update features, Sec. 4.1).
      num_stages: stacked RePose networks (Table 6).
      sigma: standard deviation (input pixels) of the ground-truth Gaussians (5 at 128x128).
      heatmap_init: initialisation of the p blocks (the paper does not give one): "small" (Glorot
        weights / 100, bias 0.01: heatmaps start near 0.01) or "glorot" (Keras' defaults: heatmaps
        start O(1), and training takes about twice the steps; docs/training.md).
    """

    name: str = "repose"
    input_size: int = 128
    coarsest: int = 16
    width: int = 64
    keypoint_width: int = 32
    f_blocks: int = 4
    head_blocks: int = 4
    update_blocks: int = 4
    update_strategy: str = "trainable"
    update_passes: int = 2
    ordering: tuple[str, ...] | None = None
    skeleton: Skeleton = LSP14
    post_update_head: str = "per_keypoint"
    num_stages: int = 1
    sigma: float = 5.0
    heatmap_init: str = "small"

    def __post_init__(self) -> None:
        object.__setattr__(self, "skeleton", get_skeleton(self.skeleton))
        for field in ("input_size", "coarsest", "width", "keypoint_width", "f_blocks", "head_blocks",
                      "num_stages"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"config {self.name!r}: {field} must be a positive integer, got {value!r}")
        for field in ("update_blocks", "update_passes"):
            value = getattr(self, field)
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"config {self.name!r}: {field} must be a non-negative integer, got {value!r}")
        if self.update_strategy not in UPDATE_STRATEGIES:
            raise ValueError(f"config {self.name!r}: update_strategy must be one of {UPDATE_STRATEGIES}, "
                             f"got {self.update_strategy!r}")
        if self.post_update_head not in POST_UPDATE_HEADS:
            raise ValueError(f"config {self.name!r}: post_update_head must be one of {POST_UPDATE_HEADS}, "
                             f"got {self.post_update_head!r}")
        if self.heatmap_init not in HEATMAP_INITS:
            raise ValueError(f"config {self.name!r}: heatmap_init must be one of {HEATMAP_INITS}, "
                             f"got {self.heatmap_init!r}")
        if self.coarsest >= self.input_size:
            raise ValueError(f"config {self.name!r}: coarsest resolution {self.coarsest} must be below the "
                             f"input size {self.input_size}")
        ratio = self.input_size // self.coarsest
        if self.input_size % self.coarsest or ratio & (ratio - 1):
            raise ValueError(
                f"config {self.name!r}: the encoder halves the input with stride-2 d blocks, so input_size / "
                f"coarsest must be a power of 2; {self.input_size} / {self.coarsest} is not")
        if self.sigma <= 0:
            raise ValueError(f"config {self.name!r}: sigma must be positive, got {self.sigma}")
        if self.ordering is not None:
            ordering = tuple(self.ordering)
            # Validates names, coverage and repeats of the ordering against the keypoint set.
            self.skeleton.with_ordering(ordering)
            object.__setattr__(self, "ordering", None if ordering == self.skeleton.ordering else ordering)

    @property
    def num_keypoints(self) -> int:
        return self.skeleton.num_keypoints

    @property
    def resolutions(self) -> tuple[int, ...]:
        """Encoder resolutions above the coarsest, from the input down: (128, 64, 32) by default."""
        out, r = [], self.input_size
        while r > self.coarsest:
            out.append(r)
            r //= 2
        return tuple(out)

    @property
    def update_order(self) -> tuple[str, ...]:
        """The update order of pass 1: :attr:`ordering`, else the skeleton's."""
        return self.ordering or self.skeleton.ordering

    @property
    def order_indices(self) -> tuple[int, ...]:
        return tuple(self.skeleton.index(n) for n in self.update_order)

    def replace(self, **changes: Any) -> RePoseConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ordering"] = list(self.update_order)
        d["skeleton"] = self.skeleton.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RePoseConfig:
        d = dict(d)
        sk = d.get("skeleton", LSP14.name)
        d["skeleton"] = Skeleton.from_dict(sk) if isinstance(sk, dict) else sk
        unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown config field(s) {sorted(unknown)}")
        return cls(**d)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


_DEFAULT = RePoseConfig()


def _preset(name: str, **changes: Any) -> RePoseConfig:
    return _DEFAULT.replace(name=name, **changes)


PRESETS: dict[str, RePoseConfig] = {
    c.name: c
    for c in (
        _DEFAULT,
        # Table 3: coarsest resolution of the kinematic updates.
        _preset("repose_coarse8", coarsest=8),
        _preset("repose_coarse32", coarsest=32),
        # Table 4: convolutional blocks in g_k.
        *(_preset(f"repose_blocks{r}", update_blocks=r) for r in (1, 2, 3, 5)),
        # Table 5: update strategy.
        _preset("repose_add", update_strategy="add"),
        _preset("repose_replace", update_strategy="replace"),
        # Table 6: stacked stages.
        _preset("repose_2stage", num_stages=2),
        _preset("repose_4stage", num_stages=4),
        # Table 7: input resolution and sigma; 256x256 still updates at 16x16.
        _preset("repose_sigma10", sigma=10.0),
        _preset("repose_256", input_size=256, sigma=10.0),
        _preset("repose_256_sigma5", input_size=256),
        # Sec. 4.1 ablations.
        _preset("repose_joint", post_update_head="joint"),
        _preset("repose_sequential", update_strategy="sequential"),
        _preset("repose_topdown", ordering=TOP_DOWN_ORDER),
        _preset("unet", update_strategy="none"),
        # Same structure, narrow and shallow: CPU demos and tests.  Sigma 3 at 64 x 64 (the paper's 5 at
        # 128 x 128 would be 2.5) learned fastest of 2-6 on the synthetic people; at 2 the network stays on
        # the "predict nothing" plateau: docs/training.md, "The quickstart".
        _preset("tiny", input_size=64, coarsest=8, width=32, keypoint_width=16, f_blocks=1,
                head_blocks=1, update_blocks=1, sigma=3.0),
        # Between tiny and the paper's network: the paper's widths (64, 32 per keypoint) at tiny's 64 x 64
        # input, two blocks where the paper has four; the network of the pretrained lsp-small (docs/models.md).
        # Sigma 4: on LSP + LSPET at sigma 3 (lr 2e-3) every decoder heatmap ReLU died within the first
        # thousand steps (all-zero heatmaps, a constant pose); a 400-step pilot at sigma 4, lr 1e-3 kept them alive.
        _preset("small", input_size=64, coarsest=8, f_blocks=2, head_blocks=2, update_blocks=2, sigma=4.0),
    )
}

# Params and FLOPs the paper reports (Tables 3, 4, 6, 7 and Sec. 4.1), for docs/complexity.md.
PAPER_COMPLEXITY: dict[str, tuple[float, float | None]] = {
    "repose": (4.0e6, 13.5e9),
    "repose_coarse8": (4.3e6, 12.4e9),
    "repose_coarse32": (3.8e6, 17.8e9),
    "repose_blocks1": (3.3e6, 13.1e9),
    "repose_blocks2": (3.5e6, 13.2e9),
    "repose_blocks3": (3.8e6, 13.3e9),
    "repose_blocks5": (4.3e6, 13.6e9),
    "repose_2stage": (8.4e6, 29.4e9),
    "repose_4stage": (17.3e6, 61.4e9),
    "repose_256": (4.3e6, 49.5e9),
    "repose_joint": (3.5e6, None),
}


def get_config(name_or_config: str | RePoseConfig) -> RePoseConfig:
    """A preset by name, or the config itself."""
    if isinstance(name_or_config, RePoseConfig):
        return name_or_config
    try:
        return PRESETS[name_or_config]
    except KeyError:
        raise ValueError(f"unknown preset {name_or_config!r}; known presets: {', '.join(PRESETS)}") from None
