"""Keypoint sets as data: names, kinematic edges, flip pairs and update orderings.

Everything the model, the data pipeline, the metrics and the plots need to know about a
keypoint set lives in one :class:`Skeleton`.  The default, :data:`LSP14`, is the 14
keypoints LSP and MPII share, in LSP order, with the connectivity of the paper's Figure 3;
:data:`COCO17` is COCO's 17 person keypoints.  A custom keypoint set is a new ``Skeleton``
(or a JSON file, :mod:`repose_tf.skeleton_file`), not new code.

Names carry the side: a word ``left``/``right`` or ``l``/``r`` (any case; words split at
``_``, ``-``, ``.``, spaces and camelCase, e.g. ``l_knee``, ``left_eye``, ``LShoulder``,
``front_left_paw``), or a name that starts with ``left``/``right`` (``lefthand``).  From
that, :func:`infer_flip_pairs` pairs every left keypoint with its right mirror, and
:attr:`Skeleton.torso` finds the left shoulder and right hip PCK normalises by.

A skeleton without an ordering gets one from its graph, :func:`derive_ordering`: the paper
starts "with keypoints that are more likely to be predicted with high fidelity, e.g. hips
or head" and propagates outwards (Sec. 3.2, 4.1).  A graph alone does not say which
keypoints are found reliably, so centrality stands in for it: the walk starts at the most
central keypoint (the smallest sum of graph distances to all others; ties: more edges, then
listed first) and moves outwards along the edges, always to the most central keypoint next
to those already ordered; flip pairs move together, right before left (Figure 3).  For
:data:`COCO17` it gives :data:`COCO17_ORDER`: shoulders, hips, ears, elbows, eyes, knees,
nose, wrists, ankles.  For LSP14's graph it would give shoulders, hips, neck, elbows,
knees, head, wrists, ankles; LSP14 keeps the paper's order (hips first, neck and head last).
"""

from __future__ import annotations

import dataclasses
import re
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

# Words of a keypoint name: "LShoulder" -> L, Shoulder; "left_eye" -> left, eye; "LEFT_EYE" -> LEFT, EYE.
_WORD = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}
_MIRROR = {"left": "right", "right": "left", "l": "r", "r": "l"}
LEFT, RIGHT, CENTER = "left", "right", "center"


@dataclasses.dataclass(frozen=True)
class Skeleton:
    """A keypoint set with its kinematic graph.

    Attributes:
      name: short identifier, stored in TFRecord sidecars and configs.
      keypoints: keypoint names; their index is the channel of the heatmap.
      edges: undirected kinematic connectivity E (paper Sec. 3.2) as name pairs.
        It need not be a tree.  N(k) is ordered as the edges are listed.
      flip_pairs: (left, right) name pairs swapped by a horizontal flip.
      ordering: update order of the kinematic feature updates (Figure 3).  The
        second pass runs in reverse.  Empty: derived from the graph (:func:`derive_ordering`).
      parts: the benchmark table's columns: part name -> keypoints averaged in it.  Empty:
        one column per keypoint (:attr:`table_parts`).
    """

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    flip_pairs: tuple[tuple[str, str], ...]
    ordering: tuple[str, ...] = ()
    parts: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        names = self.keypoints
        if not names:
            raise ValueError(f"skeleton {self.name!r}: no keypoints")
        bad = [n for n in names if not isinstance(n, str) or not n or "/" in n]
        if bad:
            raise ValueError(f"skeleton {self.name!r}: keypoint names must be non-empty strings without '/' "
                             f"(they name the network's layers), got {bad}")
        if len(set(names)) != len(names):
            raise ValueError(f"skeleton {self.name!r}: duplicate keypoint names in {names}")
        known = set(names)

        def check(where: str, items: Sequence[str]) -> None:
            unknown = [n for n in items if n not in known]
            if unknown:
                raise ValueError(f"skeleton {self.name!r}: {where} names unknown keypoint(s) {unknown}")

        for a, b in self.edges:
            check("edge", (a, b))
            if a == b:
                raise ValueError(f"skeleton {self.name!r}: self-edge ({a!r}, {b!r}) is not allowed")
        pairs = {frozenset(e) for e in self.edges}
        if len(pairs) != len(self.edges):
            raise ValueError(f"skeleton {self.name!r}: duplicate edge in {self.edges}")
        for a, b in self.flip_pairs:
            check("flip pair", (a, b))
        paired = [n for pair in self.flip_pairs for n in pair]
        if len(set(paired)) != len(paired):
            raise ValueError(f"skeleton {self.name!r}: a keypoint is in more than one flip pair: {self.flip_pairs}")
        if not self.ordering:
            object.__setattr__(self, "ordering", derive_ordering(names, self.edges, self.flip_pairs))
        check("ordering", self.ordering)
        missing = [n for n in names if n not in self.ordering]
        if missing:
            raise ValueError(f"skeleton {self.name!r}: ordering misses keypoint(s) {missing}")
        if len(set(self.ordering)) != len(self.ordering):
            raise ValueError(f"skeleton {self.name!r}: ordering repeats a keypoint: {self.ordering}")
        for part, members in self.parts:
            check(f"part {part!r}", members)

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def index(self, name: str) -> int:
        try:
            return self.keypoints.index(name)
        except ValueError:
            raise ValueError(f"skeleton {self.name!r} has no keypoint {name!r}") from None

    def neighbours(self, k: int) -> tuple[int, ...]:
        """N(k) of eq. (1): indices of k's neighbours, in edge order."""
        name = self.keypoints[k]
        out = []
        for a, b in self.edges:
            if a == name:
                out.append(self.index(b))
            elif b == name:
                out.append(self.index(a))
        return tuple(out)

    @property
    def order_indices(self) -> tuple[int, ...]:
        return tuple(self.index(n) for n in self.ordering)

    @property
    def flip_permutation(self) -> tuple[int, ...]:
        """perm such that flipped[..., k] = original[..., perm[k]]."""
        perm = list(range(self.num_keypoints))
        for a, b in self.flip_pairs:
            i, j = self.index(a), self.index(b)
            perm[i], perm[j] = j, i
        return tuple(perm)

    def with_ordering(self, ordering: Sequence[str]) -> Skeleton:
        return dataclasses.replace(self, ordering=tuple(ordering))

    def side(self, name: str) -> str:
        """'right', 'left' or 'center' (person-centric), from the name (module docstring)."""
        return side_of(name)

    @property
    def torso(self) -> tuple[int, int] | None:
        """Indices of the left shoulder and the right hip, PCK's torso (LSP's diagonal), or None.

        Found by name: a left keypoint and a right keypoint whose other words are "shoulder"
        and "hip" (``l_shoulder``/``r_hip``, ``left_shoulder``/``right_hip``, ``LShoulder``/``RHip``).
        """
        by_part = {(side_of(n), base_name(n)): k for k, n in reversed(list(enumerate(self.keypoints)))}
        left_shoulder, right_hip = by_part.get((LEFT, "shoulder")), by_part.get((RIGHT, "hip"))
        return None if left_shoulder is None or right_hip is None else (left_shoulder, right_hip)

    @property
    def table_parts(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The table's columns: :attr:`parts`, or one per keypoint when there are none."""
        return self.parts or tuple((n, (n,)) for n in self.keypoints)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: names, edges and pairs as lists, parts as [name, [members]] pairs."""
        return {"name": self.name, "keypoints": list(self.keypoints), "edges": [list(e) for e in self.edges],
                "flip_pairs": [list(p) for p in self.flip_pairs], "ordering": list(self.ordering),
                "parts": [[part, list(members)] for part, members in self.parts]}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Skeleton:
        """The inverse of :meth:`to_dict`, with defaults for what a hand-written file may leave out.

        Required: ``name``, ``keypoints``, ``edges`` (name pairs).  Optional: ``flip_pairs``
        (default: :func:`infer_flip_pairs`), ``ordering`` (default: :func:`derive_ordering`),
        ``parts`` (a mapping part -> members, or [part, members] pairs; default: none).

        Raises:
          ValueError: a missing or unknown key, a value of the wrong shape, or a skeleton that
            does not hold together (see the class).
        """
        if not isinstance(d, Mapping):
            raise ValueError(f"a skeleton is a JSON object, got {type(d).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - fields)
        missing = [k for k in ("name", "keypoints", "edges") if k not in d]
        if unknown or missing:
            raise ValueError(f"skeleton: unknown key(s) {unknown}, missing key(s) {missing}; keys are {sorted(fields)}")
        keypoints = _names(d["keypoints"], "keypoints")
        parts = d.get("parts", ())
        parts = list(parts.items()) if isinstance(parts, Mapping) else parts
        return cls(
            name=str(d["name"]),
            keypoints=keypoints,
            edges=_pairs(d["edges"], "edges"),
            flip_pairs=_pairs(d["flip_pairs"], "flip_pairs") if "flip_pairs" in d else infer_flip_pairs(keypoints),
            ordering=_names(d.get("ordering", ()), "ordering"),
            parts=tuple((str(p), _names(m, f"part {p!r}")) for p, m in _pairs(parts, "parts", strings=False)))


def _names(value: Any, what: str) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"skeleton {what} must be a list of names, got {value!r}")
    return tuple(value)


def _pairs(value: Any, what: str, strings: bool = True) -> tuple[tuple[Any, Any], ...]:
    ok = isinstance(value, (list, tuple)) and all(isinstance(v, (list, tuple)) and len(v) == 2 for v in value)
    if not ok or (strings and not all(isinstance(x, str) for v in value for x in v)):
        raise ValueError(f"skeleton {what} must be a list of {'name ' if strings else ''}pairs, got {value!r}")
    return tuple((a, b) for a, b in value)


def _words(name: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(name))


def _side_word(word: str) -> tuple[str, str] | None:
    """(side, the part of ``word`` that says it) for a side word ("L", "left", "leftHand"'s "left"), else None."""
    lower = word.lower()
    if lower in _SIDES:
        return _SIDES[lower], word
    for prefix in ("left", "right"):
        if lower.startswith(prefix):
            return prefix, word[:len(prefix)]
    return None


def side_of(name: str) -> str:
    """LEFT, RIGHT or CENTER: the side its first side word names (module docstring)."""
    for match in _words(name):
        found = _side_word(match.group())
        if found:
            return found[0]
    return CENTER


def base_name(name: str) -> str:
    """The name without its side, lower case, words joined by "_": ``LShoulder`` -> ``shoulder``."""
    out = []
    for match in _words(name):
        word = match.group()
        found = _side_word(word)
        rest = word[len(found[1]):] if found else word
        if rest:
            out.append(rest.lower())
    return "_".join(out)


def mirror_name(name: str) -> str | None:
    """``name`` with its first side word swapped (``l_knee`` -> ``r_knee``, ``LEFT_EYE`` -> ``RIGHT_EYE``), or None."""
    for match in _words(name):
        found = _side_word(match.group())
        if found:
            said = found[1]
            other = _MIRROR[said.lower()]
            other = other.upper() if said.isupper() else other.capitalize() if said[0].isupper() else other
            return name[:match.start()] + other + name[match.start() + len(said):]
    return None


def infer_flip_pairs(keypoints: Sequence[str]) -> tuple[tuple[str, str], ...]:
    """(left, right) pairs of names that are each other's mirror (module docstring), in the left one's order."""
    known = set(keypoints)
    return tuple((n, mirror_name(n)) for n in keypoints if side_of(n) == LEFT and mirror_name(n) in known)


def derive_ordering(keypoints: Sequence[str], edges: Sequence[tuple[str, str]],
                    flip_pairs: Sequence[tuple[str, str]] = ()) -> tuple[str, ...]:
    """An update ordering from the graph: central keypoints first, then outwards (module docstring).

    Flip pairs are one step, right before left.  A graph in pieces is walked piece by piece, the
    largest first; keypoints without edges come last, in their listed order.
    """
    index = {n: k for k, n in enumerate(keypoints)}
    adjacent: list[set[int]] = [set() for _ in keypoints]
    for a, b in edges:
        adjacent[index[a]].add(index[b])
        adjacent[index[b]].add(index[a])
    distances = [_graph_distances(adjacent, k) for k in range(len(keypoints))]
    step_of: dict[int, tuple[int, ...]] = {k: (k,) for k in range(len(keypoints))}
    for a, b in flip_pairs:
        left, right = (index[b], index[a]) if side_of(a) == RIGHT else (index[a], index[b])
        step_of[left] = step_of[right] = (right, left)

    def rank(step: tuple[int, ...]) -> tuple[int, int, int, int]:
        k = min(step, key=lambda j: (sum(distances[j].values()), -len(adjacent[j]), j))
        return -len(distances[k]), sum(distances[k].values()), -len(adjacent[k]), min(step)

    order: list[int] = []
    done: set[int] = set()
    while len(order) < len(keypoints):
        todo = {step_of[k] for k in range(len(keypoints)) if k not in done}
        nearby = {s for s in todo if any(adjacent[k] & done for k in s)}
        step = min(nearby or todo, key=rank)
        order += step
        done.update(step)
    return tuple(keypoints[k] for k in order)


def _graph_distances(adjacent: Sequence[set[int]], start: int) -> dict[int, int]:
    """Edges from ``start`` to every keypoint it connects to (itself included, at 0)."""
    seen = {start: 0}
    queue = deque([start])
    while queue:
        k = queue.popleft()
        for j in adjacent[k]:
            if j not in seen:
                seen[j] = seen[k] + 1
                queue.append(j)
    return seen


def _limb_parts(right: str, left: str) -> tuple[tuple[str, tuple[str, str]], ...]:
    """The tables' limb columns, Shoulder to Ankle, each its right and left keypoint (``right + "shoulder"``...)."""
    return tuple((part.capitalize(), (right + part, left + part))
                 for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"))


_LSP_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle",
    "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
    "neck", "head",
)

# Figure 3: limbs, the hip-hip and shoulder-shoulder girdles, the two torso sides and
# neck-shoulders, neck-head.  The torso makes a cycle, so E is a graph, not a tree.
_LSP_EDGES = (
    ("r_ankle", "r_knee"), ("r_knee", "r_hip"),
    ("l_ankle", "l_knee"), ("l_knee", "l_hip"),
    ("r_hip", "l_hip"),
    ("r_hip", "r_shoulder"), ("l_hip", "l_shoulder"),
    ("r_shoulder", "l_shoulder"),
    ("r_shoulder", "r_elbow"), ("r_elbow", "r_wrist"),
    ("l_shoulder", "l_elbow"), ("l_elbow", "l_wrist"),
    ("r_shoulder", "neck"), ("l_shoulder", "neck"),
    ("neck", "head"),
)

# Figure 3: hips, shoulders, knees, elbows, ankles, wrists, neck, head; right before left.
BOTTOM_UP_ORDER = (
    "r_hip", "l_hip", "r_shoulder", "l_shoulder", "r_knee", "l_knee",
    "r_elbow", "l_elbow", "r_ankle", "l_ankle", "r_wrist", "l_wrist", "neck", "head",
)
# Sec. 4.1 "Updates Ordering": start from the head and move towards ankles and wrists.
TOP_DOWN_ORDER = (
    "head", "neck", "r_shoulder", "l_shoulder", "r_elbow", "l_elbow", "r_wrist", "l_wrist",
    "r_hip", "l_hip", "r_knee", "l_knee", "r_ankle", "l_ankle",
)

LSP14 = Skeleton(
    name="lsp14",
    keypoints=_LSP_NAMES,
    edges=_LSP_EDGES,
    flip_pairs=(
        ("l_ankle", "r_ankle"), ("l_knee", "r_knee"), ("l_hip", "r_hip"),
        ("l_wrist", "r_wrist"), ("l_elbow", "r_elbow"), ("l_shoulder", "r_shoulder"),
    ),
    ordering=BOTTOM_UP_ORDER,
    parts=(("Head", ("head", "neck")), *_limb_parts("r_", "l_")),
)

# MPII's 16 joints, 0-based order of the official annotations.
MPII16_NAMES = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist",
)
# LSP14 index k <- MPII16 index MPII_TO_LSP14[k] (upper neck -> neck, head top -> head).
MPII_TO_LSP14 = (0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15, 8, 9)

# COCO's 17 person keypoints in COCO order, with the edges of the COCO annotation files'
# "skeleton" (there 1-based: [16, 14], [14, 12], ...), in the same order.
_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_COCO_EDGES = (
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_shoulder", "left_hip"),
    ("right_shoulder", "right_hip"), ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
    ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"), ("right_elbow", "right_wrist"),
    ("left_eye", "right_eye"), ("nose", "left_eye"), ("nose", "right_eye"), ("left_eye", "left_ear"),
    ("right_eye", "right_ear"), ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
)
# derive_ordering on COCO's graph (tests/test_skeleton.py checks that it still is): the torso, then
# outwards; the ears come early because COCO's skeleton joins them to the shoulders.
COCO17_ORDER = (
    "right_shoulder", "left_shoulder", "right_hip", "left_hip", "right_ear", "left_ear",
    "right_elbow", "left_elbow", "right_eye", "left_eye", "right_knee", "left_knee", "nose",
    "right_wrist", "left_wrist", "right_ankle", "left_ankle",
)

COCO17 = Skeleton(
    name="coco17",
    keypoints=_COCO_NAMES,
    edges=_COCO_EDGES,
    flip_pairs=infer_flip_pairs(_COCO_NAMES),
    ordering=COCO17_ORDER,
    parts=(("Head", ("nose", "left_eye", "right_eye", "left_ear", "right_ear")), *_limb_parts("right_", "left_")),
)

SKELETONS = {sk.name: sk for sk in (LSP14, COCO17)}


def get_skeleton(name_or_skeleton: str | Skeleton) -> Skeleton:
    """A preset of :data:`SKELETONS` by name, or the skeleton itself."""
    if isinstance(name_or_skeleton, Skeleton):
        return name_or_skeleton
    try:
        return SKELETONS[name_or_skeleton]
    except KeyError:
        raise ValueError(
            f"unknown skeleton {name_or_skeleton!r}; known: {sorted(SKELETONS)}") from None
