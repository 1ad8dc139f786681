"""The ablations of Sec. 4.1 in a controlled setting: does the kinematic prior help where joints are hidden?

    python benchmarks/ablation.py                         # 8 networks x 3 seeds -> docs/ablation.md
    python benchmarks/ablation.py --only trainable --only no_updates --seeds 1
    python benchmarks/ablation.py --paper-scale --out docs/ablation-paper.md    # the paper's size: a GPU job
    python benchmarks/ablation.py --smoke --out /tmp/ab/ablation.md --data-dir /tmp/ab/data    # seconds (the test)

Networks (:data:`VARIANTS`), each a :meth:`RePoseConfig.replace` of one base (:data:`ABLATION_BASE`, derived
from the ``tiny`` preset; the ``repose`` preset at 128 x 128 with ``--paper-scale``):

* ``no_updates``: decoupled features with pre- and post-update heads but no kinematic updates (0 passes);
* ``sequential``: a chain of convolutional blocks of about the same parameters instead of the updates (Sec. 4.1);
* ``trainable`` (the base), ``add``, ``replace``: the update strategies of eq. (2) (Table 5);
* ``topdown``: the head-first update ordering (Sec. 4.1);
* ``coarse_1_16``, ``coarse_1_4``: the kinematic updates at input/16 and input/4 instead of input/8 (Table 3:
  8x8 and 32x32 at the paper's 128 x 128; 4x4 and 16x16 at the 64 x 64 input of the base).

Data: synthetic people (:func:`repose_tf.data.synthetic.generate_people`) with an occluder in front of the
person with probability ``--occluder-fraction``, written once as TFRecords to ``--data-dir`` (reused when the
sizes match): training people from seed 0, held-out people from seed 1.  Every network sees the same records.

Training: per network, the model is built and compiled once, as :func:`repose_tf.train.fit` compiles it (eq. 3 on
every output, :class:`~repose_tf.train.optimizer.FusedAdam`, the recipe's schedule), so the training step is
traced once (about a minute on a CPU).  Each seed then restarts it: the weights of a network freshly built under
``keras.utils.set_random_seed(seed)``, every optimizer variable (moments, step counter) back to its initial value,
and ``model.fit`` for ``--steps`` steps on :func:`repose_tf.train.fit.training_dataset` seeded with the seed
(record order and augmentation).

Evaluation: the held-out people through the deterministic person-box crop, decoded with DARK
(:func:`repose_tf.eval.evaluate.predict`), PCK@0.2 and PCK@0.1 with the torso normalisation of LSP, pooled over all
annotated joints and over the annotated joints the records flag as not visible (occluded by an occluder, the
body or a limb).  Params and FLOPs with :mod:`repose_tf.model.complexity`.

Time: 8 tracings of the training step (about a minute each on 2 cores) plus, for each of the 24 runs, ``--steps``
steps, a restart of a few seconds and the evaluation.  docs/train_step.md measured 0.51 s per step of ``tiny`` at
batch 16 on 2 cores: the default 180 steps keep the whole run under an hour there (docs/ablation.md gives the
measured time); the estimate printed after the first runs tells how long other sizes take.

Writes ``--out`` (Markdown), and beside it, in the folder named like it without ``.md``, ``results.json`` (every
run, updated after each one) and the plots.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import math
import os
import platform
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import repose_tf  # noqa: F401  (before TensorFlow: it turns TF's oneDNN kernels on)

# isort: split
import keras
import numpy as np
import tensorflow as tf
from matplotlib.figure import Figure
from tqdm import tqdm

from repose_tf.cli._args import positive_int
from repose_tf.config import PAPER_COMPLEXITY, PRESETS, RePoseConfig, get_config
from repose_tf.data.synthetic.scene import DEFAULT_OCCLUDER_FRACTION
from repose_tf.eval.evaluate import EvalPredictions, Predictor, predict, predictor_from_model
from repose_tf.eval.metrics import pck_curve, torso_sizes
from repose_tf.model.builder import build_model
from repose_tf.model.complexity import graph_conv_flops, model_graph, trainable_params
from repose_tf.quickstart import IMAGE_SIZE, QUICK_AUGMENT, TRAIN_SEED, VAL_SEED, synthetic_split
from repose_tf.skeleton import TOP_DOWN_ORDER, Skeleton
from repose_tf.train import callbacks as cb
from repose_tf.train.fit import DataSource, TrainRecipe, compile_for_training, keras_training_dataset
from repose_tf.viz import save_png

ROOT = Path(__file__).resolve().parents[1]
PAPER_INPUT = 128
THRESHOLDS = (0.2, 0.1)
SUBSETS = ("all", "occluded", "visible")
DECODE = "dark"
LOSS_POINTS = 10  # training-loss means logged per run (Keras "epochs" of steps / LOSS_POINTS steps)
WARMUP_STEPS = 50  # linear warm-up of the cosine schedule, at most a tenth of the run

# Derived from tiny; the variants below are changes of it.  Sigma stays at 6, the value docs/ablation.md was
# measured with (tiny itself moved to a narrower target later: docs/training.md, "The quickstart").
ABLATION_BASE = get_config("tiny").replace(name="ablation", sigma=6.0)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One network of the ablation.

    Attributes:
      what: the change, in the paper's notation; ``{res}`` stands for the coarsest resolution.
      paper: the paper's corresponding experiment.
      changes: the :meth:`RePoseConfig.replace` arguments, from the base config.
    """

    what: str
    paper: str
    changes: Callable[[RePoseConfig], dict[str, Any]]

    def config(self, key: str, base: RePoseConfig) -> RePoseConfig:
        """The variant's config: the base itself, or named like the preset it equals, else ``<base>_<key>``."""
        changes = self.changes(base)
        if not changes:
            return base
        cfg = base.replace(name=f"{base.name}_{key}", **changes)
        preset = next((name for name, p in PRESETS.items() if p == cfg.replace(name=name)), None)
        return cfg if preset is None else cfg.replace(name=preset)


VARIANTS: dict[str, Variant] = {
    "no_updates": Variant("decoupled f_k at {res} with pre- and post-update heads, no kinematic updates",
                          "not in the paper", lambda base: {"update_passes": 0}),
    "sequential": Variant("sequential (3,1,F) blocks at {res} instead of the updates, about the same params",
                          "Sec. 4.1 sequential", lambda base: {"update_strategy": "sequential"}),
    "trainable": Variant("f_k + λ_k g_k(h_k(c_k)), eq. (2), at {res}: the base", "Table 5 trainable, RePose",
                         lambda base: {}),
    "add": Variant("f_k + g_k(h_k(c_k)) at {res}", "Table 5 add", lambda base: {"update_strategy": "add"}),
    "replace": Variant("f_k ← g_k(h_k(c_k)) at {res}", "Table 5 replace",
                       lambda base: {"update_strategy": "replace"}),
    "topdown": Variant("eq. (2) at {res}, top-down ordering (head first)", "Sec. 4.1 top-down ordering",
                       lambda base: {"ordering": TOP_DOWN_ORDER}),
    "coarse_1_16": Variant("eq. (2) at {res}", "Table 3 8×8", lambda base: {"coarsest": base.input_size // 16}),
    "coarse_1_4": Variant("eq. (2) at {res}", "Table 3 32×32", lambda base: {"coarsest": base.input_size // 4}),
}

# The paper's figures for each variant: (LSP PCK@0.2, MPII PCKh@0.5, params, FLOPs, where).  Top-down is
# reported as a drop of 0.42 / 0.70 from RePose; params and FLOPs only where the paper gives them.
_REPOSE = (91.66, 90.29)
PAPER_ABLATION: dict[str, tuple[float | None, float | None, float | None, float | None, str]] = {
    "no_updates": (None, None, None, None, "not reported"),
    "sequential": (85.82, 84.94, None, None, "Sec. 4.1 (\"roughly the same number of parameters\")"),
    "trainable": (*_REPOSE, *PAPER_COMPLEXITY["repose"], "Tables 3-5"),
    "add": (91.13, 89.59, None, None, "Table 5"),
    "replace": (90.29, 88.94, None, None, "Table 5"),
    "topdown": (round(_REPOSE[0] - 0.42, 2), round(_REPOSE[1] - 0.70, 2), None, None,
                "Sec. 4.1 (-0.42 / -0.70)"),
    "coarse_1_16": (89.32, 87.72, *PAPER_COMPLEXITY["repose_coarse8"], "Table 3"),
    "coarse_1_4": (91.70, 90.06, *PAPER_COMPLEXITY["repose_coarse32"], "Table 3"),
}


@dataclasses.dataclass(frozen=True)
class Scale:
    """The size of the experiment.

    Attributes:
      name: "cpu", "paper" or "smoke".
      base: the network the variants change.
      recipe: the training recipe (``steps``, ``batch_size`` and ``seed`` are set per run).
      train_count, val_count: synthetic training and held-out people.
      variants: the networks trained by default.
      seeds: seeds per network by default.
    """

    name: str
    base: RePoseConfig
    recipe: TrainRecipe
    train_count: int
    val_count: int
    variants: tuple[str, ...] = tuple(VARIANTS)
    seeds: int = 3


# The quickstart's recipe (Adam 5e-3, cosine decay, light augmentation), which gets tiny off the loss plateau
# within a few hundred steps (docs/training.md).
CPU = Scale("cpu", ABLATION_BASE,
            TrainRecipe(steps=180, batch_size=16, learning_rate=5e-3, schedule="cosine", shuffle_buffer=4000,
                        augment=QUICK_AUGMENT),
            train_count=4000, val_count=500)
# The paper's network and recipe (Sec. 4: Adam, batch 64, 2M steps, the paper's schedule and augmentation) on
# about as many people as LSP + LSPET + MPII.
PAPER = Scale("paper", get_config("repose"), TrainRecipe(), train_count=40_000, val_count=2000)
# Plumbing only: a network of the tests' size, a dozen people, a few steps.
SMOKE = Scale("smoke",
              ABLATION_BASE.replace(name="ablation_smoke", input_size=32, coarsest=4, width=8, keypoint_width=4,
                                    update_passes=1, sigma=3.0),
              TrainRecipe(steps=3, batch_size=4, learning_rate=5e-3, schedule="cosine", shuffle_buffer=16,
                          augment=QUICK_AUGMENT),
              train_count=12, val_count=12, variants=("no_updates", "sequential"), seeds=1)


def resolution(cfg: RePoseConfig) -> str:
    """The coarsest resolution, with the paper's equivalent at 128 x 128 when the input differs."""
    c = cfg.coarsest
    if cfg.input_size == PAPER_INPUT:
        return f"{c}×{c}"
    p = c * PAPER_INPUT // cfg.input_size
    return f"{c}×{c} (paper {p}×{p})"


class StepTimes(keras.callbacks.Callback):
    """Wall seconds of every step of one ``fit`` call; the first includes tracing and the pipeline's start."""

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.seconds: list[float] = []
        self._last = time.perf_counter()

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        now = time.perf_counter()
        self.seconds.append(now - self._last)
        self._last = now


def occlusion_pck(predictions: EvalPredictions, skeleton: Skeleton) -> dict[str, float | int]:
    """Pooled PCK (percent) at :data:`THRESHOLDS`, torso-normalised, over annotated joints of each subset.

    Subsets: all annotated joints, the occluded ones (annotated, visibility flag 0) and the visible ones.
    Keys ``pck0.2_all`` ... and ``joints_<subset>`` (how many joints each pools).
    """
    norm = torso_sizes(predictions.gt, skeleton)
    annotated = predictions.annotated
    visible = predictions.visible
    counted = {"all": annotated, "occluded": annotated & ~visible, "visible": annotated & visible}
    out: dict[str, float | int] = {}
    for subset in SUBSETS:
        curve = pck_curve(predictions.keypoints, predictions.gt, counted[subset], norm, THRESHOLDS)
        for threshold, value in zip(THRESHOLDS, curve.pooled()):
            out[f"pck{threshold:g}_{subset}"] = float(value)
        out[f"joints_{subset}"] = int(counted[subset].sum())
    return out


@dataclasses.dataclass
class Network:
    """One variant, built and compiled once; :meth:`train_and_score` restarts it for each seed.

    Attributes:
      config: the variant's config.
      recipe: its training recipe (the seed is set per run).
      model: the compiled network.
      optimizer_start: the initial values of ``model.optimizer.variables``.
      predictor: ``model`` for :func:`repose_tf.eval.evaluate.predict` (its compiled function is kept).
      params, flops: trainable parameters and FLOPs (:mod:`repose_tf.model.complexity`).
    """

    config: RePoseConfig
    recipe: TrainRecipe
    model: keras.Model
    optimizer_start: list[np.ndarray]
    predictor: Predictor
    params: int
    flops: int

    @classmethod
    def build(cls, cfg: RePoseConfig, recipe: TrainRecipe) -> Network:
        model = build_model(cfg)
        params, flops = trainable_params(model), graph_conv_flops(model_graph(model))
        compile_for_training(model, cfg, recipe)
        optimizer_start = [v.numpy() for v in model.optimizer.variables]
        return cls(cfg, recipe, model, optimizer_start, predictor_from_model(model, cfg, cfg.name), params, flops)

    def train_and_score(self, seed: int, train_data: str, val_data: str) -> tuple[dict[str, Any], EvalPredictions]:
        """Restart from seed ``seed``, train for the recipe's steps, score on ``val_data``."""
        model, cfg = self.model, self.config
        recipe = dataclasses.replace(self.recipe, seed=seed)
        keras.utils.set_random_seed(seed)
        model.set_weights(build_model(cfg).get_weights())  # the initial weights fit would start from
        for variable, value in zip(model.optimizer.variables, self.optimizer_start):
            variable.assign(value)
        per_epoch = max(1, recipe.steps // LOSS_POINTS)
        timer, guard = StepTimes(), cb.NaNGuard()
        start = time.perf_counter()
        data = keras_training_dataset([DataSource(train_data)], cfg, recipe, recipe.seed)
        history = model.fit(data, epochs=math.ceil(recipe.steps / per_epoch),
                            steps_per_epoch=per_epoch, callbacks=[guard, cb.StopAtStep(recipe.steps), timer],
                            shuffle=False, verbose=0)
        train_seconds = time.perf_counter() - start
        start = time.perf_counter()
        predictions = predict(self.predictor, val_data, decode=DECODE, progress=False)
        scores = occlusion_pck(predictions, cfg.skeleton)
        losses = [float(v) for v in history.history["loss"]]
        return {
            "seed": seed, **scores, "final_loss": losses[-1], "loss_every_epoch": losses,
            "steps": cb.current_step(model), "diverged": guard.tripped,
            "train_seconds": train_seconds, "first_step_seconds": timer.seconds[0],
            "step_seconds": float(np.median(timer.seconds[1:] or timer.seconds)),
            "eval_seconds": time.perf_counter() - start,
        }, predictions


# --------------------------------------------------------------------------------------------- report


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    a = np.asarray(values, np.float64)
    return float(a.mean()), (float(a.std(ddof=1)) if len(a) > 1 else 0.0)


def _cell(values: Sequence[float], digits: int = 1) -> str:
    m, s = mean_std(values)
    return f"{m:.{digits}f}" if len(values) == 1 else f"{m:.{digits}f} ± {s:.{digits}f}"


def _paper_number(value: float | None, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
    return "–" if value is None else f"{value / scale:.{digits}f}{unit}"


def plot_pck(results: dict[str, Any], threshold: float, path: Path) -> Path:
    """Bars of PCK@threshold over all and over occluded joints per network: mean, ± std error bars, each seed."""
    keys = list(results["variants"])
    fig = Figure(figsize=(max(7.0, 1.1 * len(keys) + 2), 4.5), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(keys))
    width = 0.38
    top = 0.0
    for i, (subset, colour) in enumerate((("all", "#4c72b0"), ("occluded", "#dd8452"))):
        column = f"pck{threshold:g}_{subset}"
        per_seed = [[run[column] for run in results["variants"][k]["runs"]] for k in keys]
        stats = np.array([mean_std(v) for v in per_seed])
        offset = (i - 0.5) * width
        ax.bar(x + offset, stats[:, 0], width, yerr=stats[:, 1], capsize=3, color=colour,
               label=f"{subset} annotated joints")
        for xi, values in zip(x, per_seed):
            ax.plot(np.full(len(values), xi + offset), values, "k.", markersize=4)
        top = max(top, float(np.max(stats.sum(axis=1))), max(max(v) for v in per_seed))
    ax.set_ylim(0, 1.2 * top if top > 0 else 1.0)
    ax.set_xticks(x, keys, rotation=20, ha="right")
    ax.set_ylabel(f"PCK@{threshold:g} (%)")
    seeds = len(results["setup"]["seeds"])
    ax.set_title(f"PCK@{threshold:g} on held-out synthetic people\nmean ± std over {seeds} seed(s); dots: single seeds",
                 fontsize=10)
    ax.legend(loc="upper left", ncols=2, fontsize=9)
    ax.grid(axis="y", alpha=0.3)
    return save_png(fig, path)


def report(results: dict[str, Any], plots: Sequence[Path], out: Path) -> str:
    """The Markdown report of ``results`` (see :func:`main`)."""
    setup, data, machine = results["setup"], results["data"], results["machine"]
    recipe = setup["recipe"]
    base = setup["base"]
    assets = out.with_suffix("").name
    augment = recipe["augment"]
    lines = [
        "# Ablations of Sec. 4.1 on synthetic people with occluded joints",
        "",
        "Does the kinematic prior of Sec. 3.2 help where joints are hidden?  Small versions of the paper's ablations,",
        "trained on the same synthetic records for the same steps, several seeds each, scored on held-out people",
        "over all annotated joints and over the occluded ones only.",
        "",
        f"Written by `{results['command']}` on {results['date']} ({results['minutes']:.1f} min).",
        "",
        f"* Machine: {machine['cores']} cores ({machine['platform']}), Python {machine['python']}, "
        f"TensorFlow {machine['tensorflow']}, Keras {machine['keras']}; load average (1 min) "
        f"{machine['load_before']:.2f} before, {machine['load_after']:.2f} after; thread settings: "
        f"{machine['threads'] or 'TensorFlow defaults'}.",
        f"* Scale: `{setup['scale']}`.  Base network: `{base['name']}`, {base['input_size']}×{base['input_size']} "
        f"input, width {base['width']}, keypoint width {base['keypoint_width']}, f/head/update blocks "
        f"{base['f_blocks']}/{base['head_blocks']}/{base['update_blocks']}, {base['update_passes']} update passes, "
        f"coarsest {base['coarsest']}×{base['coarsest']}, sigma {base['sigma']:g}.",
        f"* Data: {data['train_count']} synthetic training people (seed {data['train_seed']}), {data['val_count']} "
        f"held-out people (seed {data['val_seed']}), {data['image_size']}×{data['image_size']} images, occluder "
        f"probability {data['occluder_fraction']:g} per person.  Of the {data['annotated_val_joints']} annotated "
        f"held-out joints, **{100 * data['occluded_fraction']:.1f}% are occluded** (visibility flag 0: behind an "
        "occluder, the body or a limb).",
        f"* Training: {recipe['steps']} steps of batch {recipe['batch_size']}, Adam {recipe['learning_rate']:g} "
        f"({recipe['schedule']} schedule, {recipe['warmup_steps']} warm-up steps), augmentation scale "
        f"{augment['scale_range'][0]:g}–{augment['scale_range'][1]:g}, rotation ±{augment['max_rotation']:g}°, "
        f"flip {augment['flip_prob']:g}, colour noise; seeds {', '.join(map(str, setup['seeds']))} (initial weights, "
        "record order and augmentation).",
        f"* Evaluation: deterministic person-box crop, {DECODE.upper()} decoding, no flip test; PCK with the LSP "
        "torso (left shoulder – right hip), pooled over joints.",
        "",
        "## Results",
        "",
        "| variant | what (paper's equivalent) | params | GFLOPs | PCK@0.2 all | PCK@0.2 occluded | PCK@0.1 all "
        "| PCK@0.1 occluded | minutes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    diverged = []
    for key, v in results["variants"].items():
        runs = v["runs"]
        res = resolution(RePoseConfig.from_dict(v["config"]))
        cells = [_cell([r[f"pck{t:g}_{s}"] for r in runs]) for t in THRESHOLDS for s in ("all", "occluded")]
        minutes = (v["setup_seconds"] + sum(r["train_seconds"] + r["eval_seconds"] for r in runs)) / 60
        lines.append(f"| {key} | {VARIANTS[key].what.format(res=res)} ({VARIANTS[key].paper}) | "
                     f"{v['params'] / 1e6:.3f}M | {v['flops'] / 1e9:.3f} | {' | '.join(cells)} | {minutes:.1f} |")
        diverged += [f"{key} seed {r['seed']}: {r['diverged']}" for r in runs if r["diverged"]]
    seeds = len(setup["seeds"])
    lines += [
        "",
        f"PCK in percent, mean ± sample standard deviation over {seeds} seed(s); per-seed values, final training "
        f"losses (mean over the last tenth of the steps) and step times in [{assets}/results.json]"
        f"({assets}/results.json).  Minutes: the whole variant (build, tracing, every seed's training and "
        "evaluation).  Occluded joints are "
        f"{100 * data['occluded_fraction']:.1f}% of the {data['annotated_val_joints']} annotated held-out joints, so "
        "their PCK is noisier than the overall one.",
    ]
    if diverged:
        lines += ["", "Diverged runs (their PCK is in the means): " + "; ".join(diverged) + "."]
    lines += ["", *[f"![{p.stem}]({assets}/{p.name})" for p in plots]]
    lines += [
        "",
        "## The paper's numbers",
        "",
        "Real images at 128×128, the full network and recipe (2M steps), joint LSP + MPII training; LSP PCK@0.2 and",
        "MPII PCKh@0.5 over all annotated joints (the paper gives no occluded-joint breakdown).",
        "",
        "| variant | paper's setting | LSP PCK@0.2 | MPII PCKh@0.5 | params | GFLOPs | source |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for key in results["variants"]:
        lsp, mpii, params, flops, where = PAPER_ABLATION[key]
        lines.append(f"| {key} | {VARIANTS[key].paper} | {_paper_number(lsp)} | {_paper_number(mpii)} | "
                     f"{_paper_number(params, 1e6, 1, 'M')} | {_paper_number(flops, 1e9, 1)} | {where} |")
    lines += ["", "## Reading", "", "<!-- reading: written after the measured run -->", ""]
    return "\n".join(lines)


def _machine(load_before: float) -> dict[str, Any]:
    threads = ", ".join(f"{k}={os.environ[k]}" for k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                                         "TF_NUM_INTEROP_THREADS") if k in os.environ)
    return {"cores": os.cpu_count(), "platform": platform.machine(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "keras": keras.__version__, "load_before": load_before,
            "load_after": os.getloadavg()[0], "threads": threads}


def _write_json(path: Path, content: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=1) + "\n")
    os.replace(tmp, path)


def _estimate(entry: dict[str, Any], variants: int, seeds: int) -> float:
    """Seconds of the whole benchmark, from the first network's runs so far.

    Its first run traced the training step; a later run restarts the network (and its input pipeline).  Before
    a later run is measured, it is taken as the first without the tracing.
    """
    runs = entry["runs"]
    seconds = [r["train_seconds"] + r["eval_seconds"] for r in runs]
    if len(runs) > 1:
        later = float(np.mean(seconds[1:]))
    else:
        later = seconds[0] - max(0.0, runs[0]["first_step_seconds"] - runs[0]["step_seconds"])
    return variants * (entry["setup_seconds"] + seconds[0] + (seeds - 1) * later)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, help="training steps per run (default: 180; --paper-scale: 2M)")
    parser.add_argument("--batch", type=positive_int, help="batch size (default: 16; --paper-scale: 64)")
    parser.add_argument("--seeds", type=positive_int, help="seeds per network, 0 .. N-1 (default: 3)")
    parser.add_argument("--only", action="append", choices=list(VARIANTS), metavar="VARIANT",
                        help=f"train this network only (repeatable): {', '.join(VARIANTS)}")
    parser.add_argument("--train-count", type=positive_int,
                        help="synthetic training people (default: 4000; paper: 40000)")
    parser.add_argument("--val-count", type=positive_int, help="held-out people (default: 500; paper: 2000)")
    parser.add_argument("--occluder-fraction", type=float, default=DEFAULT_OCCLUDER_FRACTION,
                        help="probability of occluders in front of a person (default: %(default)s)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "runs" / "ablation" / "data",
                        help="TFRecord cache, reused when the sizes match")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "ablation.md",
                        help="the Markdown report; plots and results.json go to the folder named like it")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--paper-scale", action="store_true",
                      help="the repose preset at 128x128, batch 64, the paper's 2M-step recipe, 40000 people (a GPU)")
    size.add_argument("--smoke", action="store_true", help="2 networks, 1 seed, 3 steps, 12 people: for the test")
    args = parser.parse_args(argv)
    for name in ("steps", "batch", "seeds", "train_count", "val_count"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    if not 0.0 <= args.occluder_fraction <= 1.0:
        parser.error("--occluder-fraction must be in [0, 1]")

    started, load_before = time.time(), os.getloadavg()[0]
    scale = PAPER if args.paper_scale else SMOKE if args.smoke else CPU
    steps = args.steps or scale.recipe.steps
    warmup = min(WARMUP_STEPS, steps // 10) if scale.recipe.schedule == "cosine" else scale.recipe.warmup_steps
    recipe = dataclasses.replace(scale.recipe, steps=steps, batch_size=args.batch or scale.recipe.batch_size,
                                 warmup_steps=warmup)
    keys = list(dict.fromkeys(args.only)) if args.only else list(scale.variants)
    seeds = list(range(args.seeds or scale.seeds))
    train_count, val_count = args.train_count or scale.train_count, args.val_count or scale.val_count

    train_data = synthetic_split(args.data_dir, "train", train_count, TRAIN_SEED,
                                 occluder_fraction=args.occluder_fraction)
    val_data = synthetic_split(args.data_dir, "val", val_count, VAL_SEED, occluder_fraction=args.occluder_fraction)
    assets = args.out.with_suffix("")
    command = " ".join(["python benchmarks/ablation.py", shlex.join(sys.argv[1:] if argv is None else argv)]).rstrip()
    results: dict[str, Any] = {
        "command": command,
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "setup": {"scale": scale.name, "base": scale.base.to_dict(), "recipe": {**recipe.to_dict(), "seed": None},
                  "seeds": seeds, "decode": DECODE, "thresholds": list(THRESHOLDS)},
        "data": {"train": train_data, "val": val_data, "train_count": train_count, "val_count": val_count,
                 "train_seed": TRAIN_SEED, "val_seed": VAL_SEED, "image_size": IMAGE_SIZE,
                 "occluder_fraction": args.occluder_fraction},
        "variants": {},
    }
    bar = tqdm(total=len(keys) * len(seeds), desc="ablation", unit="run", dynamic_ncols=True)
    for key in keys:
        cfg = VARIANTS[key].config(key, scale.base)
        bar.set_postfix_str(f"{key} ({cfg.name})")
        clock = time.time()
        keras.utils.set_random_seed(seeds[0])
        network = Network.build(cfg, recipe)
        entry = results["variants"][key] = {"config": cfg.to_dict(), "params": network.params,
                                            "flops": network.flops, "setup_seconds": time.time() - clock, "runs": []}
        for seed in seeds:
            run, predictions = network.train_and_score(seed, train_data, val_data)
            entry["runs"].append(run)
            if "occluded_fraction" not in results["data"]:
                annotated = int(predictions.annotated.sum())
                occluded = int((predictions.annotated & ~predictions.visible).sum())
                results["data"].update(annotated_val_joints=annotated, occluded_fraction=occluded / annotated)
            _write_json(assets / "results.json", results)
            bar.update()
            tqdm.write(f"{key} seed {seed}: PCK@0.2 all {run['pck0.2_all']:.1f}, occluded "
                       f"{run['pck0.2_occluded']:.1f}; loss {run['final_loss']:.4g}; first step "
                       f"{run['first_step_seconds']:.1f} s, then {run['step_seconds']:.3f} s/step")
            if bar.n <= min(2, len(seeds)):
                total = _estimate(entry, len(keys), len(seeds))
                tqdm.write(f"estimated total: {total / 60:.1f} min for {len(keys)} network(s) x {len(seeds)} seed(s)")
    bar.close()

    results["minutes"] = (time.time() - started) / 60
    results["machine"] = _machine(load_before)
    plots = [plot_pck(results, t, assets / f"pck{t:g}.png") for t in THRESHOLDS]
    _write_json(assets / "results.json", results)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report(results, plots, args.out))
    print(f"wrote {args.out}, {assets / 'results.json'} and {len(plots)} plots")
    return 0


if __name__ == "__main__":
    sys.exit(main())
