"""The pretrained ``lsp-small``: the recipe that trains it, and the model card that scores it.

    python benchmarks/lsp_model.py data  --datasets ../shared/datasets  # LSP + LSPET -> tfrecords/
    python benchmarks/lsp_model.py train                                # the recipe -> runs/lsp-small*
    python benchmarks/lsp_model.py ship                                 # -> repose_tf/weights/lsp-small.*
    python benchmarks/lsp_model.py card --quickstart quickstart/run/model.keras   # -> docs/models.md

``data`` converts LSP (train 1-1000, test 1001-2000) and LSP-extended, holding LSPET images
8501-9000 out of training as ``lspet-val``: the validation PCK during training and every choice
are made on it, never on LSP test.  ``train`` runs the :data:`STAGES` through ``repose train`` (a
training run, then warm restarts, each from the model of the run before; rerun it to resume).
``ship`` scores the last stage's ``model.keras`` and the shipped model on ``lspet-val`` (flip test,
DARK) and, unless the shipped one scores higher (``--force`` overrides), copies the run's model into the
package with its model card facts (config, data, command, CPU, hours, both validation scores). ``card``
scores the shipped model on the LSP test split once, in Table 1's layout (flip test on and off, DARK and
argmax decoding), beside the paper's RePose row, Table 1's three graphical-model rows, the mean training
pose placed in every test crop, and (given ``--quickstart``) the synthetic-people quickstart network;
then int8 TFLite against fp32 (PCK@0.2 on LSP test and batch-1 speed under XNNPACK), and the
validation-PCK curve. It writes ``docs/models.md``, ``docs/models/results.json``,
``docs/models/validation_pck.png`` and the README's table.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAME = "lsp-small"
RUN = Path("runs") / NAME
RESTART = Path("runs") / f"{NAME}-restart"
RESTART2 = Path("runs") / f"{NAME}-restart2"
TEST = "tfrecords/lsp-test-*.tfrecord"
VAL = "tfrecords/lspet-val-*.tfrecord"
TRAIN_DATA = ("tfrecords/lsp-train-*.tfrecord", "tfrecords/lspet-train-*.tfrecord")
# The recipe, three runs.  bfloat16: the CPU it was trained on has AVX512-BF16.
COMMON_ARGS = ("--preset", "small", *[a for d in TRAIN_DATA for a in ("--data", d)], "--val", VAL,
               "--steps", "30000", "--batch", "16", "--schedule", "cosine", "--warmup", "300",
               "--checkpoint-every", "500", "--pck-every", "1000", "--precision", "bfloat16")
# 1: from random weights, lr 1e-3 decaying to the step a 140-minute budget reaches.
# 2: a warm restart from run 1's model (fresh optimizer, new data seed), lr 5e-4, a 140-minute budget.
# 3: a warm restart from run 2's model, lr 3e-4 (run 2's 5e-4 cost 4 validation points in its first
#    thousand steps), a 120-minute budget.
STAGES = (
    (RUN, ("train", "--out", str(RUN), *COMMON_ARGS, "--lr", "1e-3", "--time-budget", "140")),
    (RESTART, ("train", "--out", str(RESTART), "--init", str(RUN / "model.keras"), *COMMON_ARGS,
               "--lr", "5e-4", "--time-budget", "140", "--seed", "1")),
    (RESTART2, ("train", "--out", str(RESTART2), "--init", str(RESTART / "model.keras"), *COMMON_ARGS,
                "--lr", "3e-4", "--time-budget", "120", "--seed", "2")),
)
FINAL_RUN = STAGES[-1][0]
SUMMARY = ("the `small` preset (2.5M parameters, 64 x 64 input) trained on LSP train + LSP-extended; "
           "LSP test PCK@0.2 in docs/models.md")
DOCS = ROOT / "docs"
TIMING_CROPS = 64
README_BEGIN = "<!-- lsp-small table: written by python benchmarks/lsp_model.py card -->"
README_END = "<!-- end of the lsp-small table -->"
CHECK_IMAGES = (1001, 1002, 1003, 1004)  # LSP test images of the stored check (first four of the split)


def command_line(args: tuple[str, ...]) -> str:
    return "repose " + " ".join(f"'{a}'" if "*" in a else a for a in args)


def run_data(datasets: Path) -> None:
    for args in (("convert", "lsp", "--joints", str(datasets / "lsp/joints.mat"),
                  "--images", str(datasets / "lsp/images"), "--out", "tfrecords"),
                 ("convert", "lspet", "--joints", str(datasets / "lspet/joints.mat"),
                  "--images", str(datasets / "lspet/images"), "--out", "tfrecords", "--val", "8501-9000")):
        subprocess.run(["repose", *args], check=True)


def run_train() -> None:
    """Each stage in turn; a stage whose run wrote its model.keras is done (rerunning it would rewrite its
    run.json, whose time the card's hours count from), an interrupted one resumes."""
    for run, args in STAGES:
        if (run / "model.keras").is_file():
            print(f"{run} is trained (its model.keras exists)")
            continue
        subprocess.run(["repose", *args], check=True)


def validation_pck(model: Path) -> float:
    """PCK@0.2 (Mean) of a model file on the validation slice, scored as the card scores LSP test (flip
    test, DARK): the number :func:`run_ship` chooses by."""
    from repose_tf.eval.evaluate import evaluate, load_predictor

    result = evaluate(load_predictor(model), VAL, progress=False, flip=True, decode="dark")
    (scores,) = result.scores.values()
    return float(scores.parts["Mean"])


def run_ship(force: bool = False) -> None:
    from repose_tf import pretrained
    from repose_tf.hardware import cpu_name
    from repose_tf.train.checkpoints import latest_checkpoint, read_config

    model = FINAL_RUN / "model.keras"
    if not model.is_file():
        sys.exit(f"{model} is missing: finish `python benchmarks/lsp_model.py train` first")
    # The choice is made on the validation slice, never on LSP test.
    shipped_file = pretrained.WEIGHTS_DIR / f"{NAME}.keras"
    validation = {"run": round(validation_pck(model), 2)}
    if shipped_file.is_file():
        validation["replaced"] = round(validation_pck(shipped_file), 2)
    print(f"PCK@0.2 on {VAL} (flip test, DARK): this run {validation['run']:.2f}"
          + (f", the shipped model {validation['replaced']:.2f}" if "replaced" in validation else ""))
    if validation["run"] < validation.get("replaced", -1.0) and not force:
        sys.exit("not shipped: the shipped model scores higher on the validation slice (--force ships anyway)")
    stages = [{"command": command_line(args), "steps": latest_checkpoint(run / "checkpoints").step,
               "hours": round(run_hours(run), 2)} for run, args in STAGES]
    hours = sum(stage["hours"] for stage in stages)
    pretrained.WEIGHTS_DIR.mkdir(exist_ok=True)
    shutil.copyfile(model, pretrained.WEIGHTS_DIR / f"{NAME}.keras")
    card = {
        "config": read_config(FINAL_RUN / "config.json").to_dict(),
        "summary": SUMMARY,
        "data": {"train": list(TRAIN_DATA), "validation": VAL + " (LSPET images 8501-9000, held out)",
                 "not used": "MPII (its images are not on this machine)"},
        "command": " && ".join(stage["command"] for stage in stages),
        "stages": stages,
        "steps": sum(stage["steps"] for stage in stages),
        "hardware": cpu_name(),
        "hours": round(hours, 2),
        "shipped": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        "validation_pck": validation,
    }
    card["check"] = check_predictions(pretrained.WEIGHTS_DIR / f"{NAME}.keras", FINAL_RUN / "config.json")
    (pretrained.WEIGHTS_DIR / f"{NAME}.json").write_text(json.dumps(card, indent=1) + "\n")
    size = (pretrained.WEIGHTS_DIR / f"{NAME}.keras").stat().st_size / 1e6
    print(f"shipped {NAME}: {size:.1f} MB, {card['steps']} steps in {hours:.2f} h on {card['hardware']}")


def run_hours(run: Path) -> float:
    """Hours of one stage: run.json is written when a run starts, so from it to model.keras is the whole run,
    tracing, validation and checkpoints included (for a run that was not resumed)."""
    return ((run / "model.keras").stat().st_mtime - (run / "run.json").stat().st_mtime) / 3600


def stage_history() -> dict:
    """history.csv of every stage end to end, a later stage's steps counted on from the end of the one before."""
    import numpy as np

    from repose_tf.viz import load_training_log

    logs = [load_training_log(ROOT / run / "history.csv") for run, _ in STAGES]
    offsets = np.cumsum([0] + [log["step"][-1] for log in logs[:-1]])
    names = [name for name in logs[0] if all(name in log for log in logs)]
    return {name: np.concatenate([log[name] + (offset if name == "step" else 0) for log, offset in zip(logs, offsets)])
            for name in names}


def check_predictions(model: Path, config: Path) -> dict:
    """Keypoints of the shipped file on a few whole LSP test images: tests/test_pretrained.py compares a
    fresh forward pass with them, which guards against a broken file or a changed decoder."""
    from repose_tf.inference import load_predictor
    from repose_tf.train.checkpoints import read_config

    predictor = load_predictor(model, config=read_config(config))
    images = [f"lsp/images/im{i:04d}.jpg" for i in CHECK_IMAGES]
    datasets = ROOT.parent / "shared" / "datasets"
    result = predictor.predict_images([(datasets / name).read_bytes() for name in images])
    return {"images": images, "keypoints": result.keypoints.round(3).tolist()}


def mean_pose_predictor(config, train_patterns: tuple[str, ...]):
    """A :class:`~repose_tf.eval.evaluate.Predictor` that answers every crop with the mean pose of the
    training records in their evaluation crops (Gaussian heatmaps at it), scored like a network."""
    import numpy as np
    import tensorflow as tf

    from repose_tf.codec import encode_heatmaps
    from repose_tf.data.pipeline import make_dataset
    from repose_tf.eval.evaluate import Predictor

    total = np.zeros((config.num_keypoints, 2))
    count = np.zeros((config.num_keypoints, 1))
    for _, targets, _ in make_dataset(list(train_patterns), "eval", 64, input_size=config.input_size,
                                      sigma=config.sigma, skeleton=config.skeleton):
        mask = targets["mask"].numpy()[..., None]
        total += (targets["keypoints"].numpy() * mask).sum(0)
        count += mask.sum(0)
    mean = (total / count).astype("float32")
    heatmaps = encode_heatmaps(tf.constant(mean[None]), tf.ones((1, config.num_keypoints)),
                               config.input_size, config.sigma)

    def predict(crops: tf.Tensor) -> tf.Tensor:
        return tf.repeat(heatmaps, tf.shape(crops)[0], axis=0)

    return Predictor(predict, config, "mean training pose"), mean


def tflite_predictor(path: Path, config):
    """A TFLite file as an evaluation :class:`~repose_tf.eval.evaluate.Predictor` (heatmaps of its signature)."""
    import tensorflow as tf

    from repose_tf.eval.evaluate import Predictor
    from repose_tf.export.tflite import TFLiteModel

    model = TFLiteModel.load(path)
    shape = (config.input_size, config.input_size, config.num_keypoints)

    def predict(crops: tf.Tensor) -> tf.Tensor:
        out = tf.numpy_function(lambda c: model.predict_crops(c)["heatmaps"], [crops], tf.float32)
        return tf.ensure_shape(out, (None, *shape))

    return Predictor(predict, config, str(path)), model


def batch1_ms(model, crops) -> float:
    """Median batch-1 latency (ms) of a TFLite model over ``crops``, after one warm-up call."""
    import numpy as np

    model.predict_crops(crops[:1])
    times = []
    for crop in crops:
        start = time.perf_counter()
        model.predict_crops(crop[None])
        times.append(time.perf_counter() - start)
    return 1000 * float(np.median(times))


def run_card(quickstart: Path | None) -> None:
    import numpy as np

    from repose_tf import pretrained
    from repose_tf.data.pipeline import make_dataset
    from repose_tf.eval.benchmarks import LSP_GRAPHICAL_MODEL_ROWS, PAPER_RESULTS
    from repose_tf.eval.evaluate import evaluate, load_predictor
    from repose_tf.export.tflite import export_tflite, representative_crops
    from repose_tf.hardware import cpu_name
    from repose_tf.inference import load_keras_model
    from repose_tf.viz import save_png, training_curves

    shipped = pretrained.get(NAME)
    cfg = shipped.config
    rows: dict[str, dict[str, float]] = {"RePose, paper (Table 1)": PAPER_RESULTS["lsp"][1]}
    rows.update({f"{k} (Table 1)": v for k, v in LSP_GRAPHICAL_MODEL_ROWS.items()})
    results: dict[str, dict] = {}

    def score(label: str, model, **kw) -> dict[str, float]:
        result = evaluate(model, TEST, progress=False, **kw)
        parts = result.scores["lsp"].parts
        results[label] = {"parts": parts, "n": result.scores["lsp"].n, **{k: v for k, v in kw.items()}}
        print(f"{label}: {parts['Mean']:.2f}", flush=True)
        return parts

    predictor = load_predictor(NAME)
    ours = {}
    for flip in (True, False):
        for decode in ("dark", "argmax"):
            label = f"{NAME}, {'flip test' if flip else 'no flip'}, {decode}"
            ours[label] = score(label, predictor, flip=flip, decode=decode)
    rows.update(ours)
    # LSP train alone: LSPET's people are framed otherwise in their crops, and a mean over them lands
    # beside LSP's test people (8 % instead of LSP train's 21 % on the first 100).
    mean_predictor, mean_pose = mean_pose_predictor(cfg, TRAIN_DATA[:1])
    rows["mean pose of LSP train (baseline)"] = score("mean pose of LSP train (baseline)", mean_predictor)
    if quickstart is not None:
        rows["quickstart network, synthetic people only (baseline)"] = score(
            "quickstart network, synthetic people only (baseline)", str(quickstart))

    # int8 TFLite against fp32 on the same records, and their batch-1 speed under XNNPACK.
    model = load_keras_model(shipped.path)
    tflite_rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        calibration = representative_crops("tfrecords/lsp-train-*.tfrecord", cfg)
        written = export_tflite(model, tmp, ("fp32", "int8"), name=NAME, calibration=calibration, config=cfg)
        crops = next(iter(make_dataset(TEST, "eval", TIMING_CROPS, input_size=cfg.input_size, sigma=cfg.sigma,
                                       skeleton=cfg.skeleton)))[0].numpy()
        for mode, path in written.items():
            tfl_predictor, tfl_model = tflite_predictor(path, cfg)
            label = f"{NAME}, TFLite {mode}, no flip, dark"
            tflite_rows[mode] = {"parts": score(label, tfl_predictor), "size_mb": path.stat().st_size / 1e6}
        for _ in range(2):  # alternating rounds: a change of load falls on both
            for mode, path in written.items():
                tflite_rows[mode].setdefault("ms", []).append(batch1_ms(tflite_predictor(path, cfg)[1], crops))
    for row in tflite_rows.values():
        row["ms"] = float(np.median(row["ms"]))

    (DOCS / "models").mkdir(parents=True, exist_ok=True)
    fig = training_curves(stage_history(), title=f"{NAME}: training loss and LSPET-val PCK@0.2, every stage")
    save_png(fig, DOCS / "models" / "validation_pck.png")
    report = {"model": NAME, "card": shipped.card, "cpu": cpu_name(),
              "written": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "results": results, "tflite": tflite_rows, "mean_pose_crop_px": mean_pose.tolist()}
    (DOCS / "models" / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    write_markdown(shipped, rows, tflite_rows, report)


def runs(card: dict) -> str:
    """"two runs, " for a card of two stages, "three runs, " for three; "" for one."""
    count = len(card.get("stages", ()))
    return f"{('two', 'three', 'four')[count - 2] if 2 <= count <= 4 else count} runs, " if count > 1 else ""


def recipe_text(card: dict) -> str:
    """The card's commands in words: one per stage, with its steps and hours."""
    stages = card.get("stages") or [{"command": card["command"], "steps": card["steps"], "hours": card["hours"]}]
    return "; then ".join(f"`{stage['command']}` ({stage['steps']} steps, {stage['hours']:.2f} h)" for stage in stages)


def chosen(card: dict) -> str:
    """How the shipped model was chosen over the one it replaced, in words (from its card's validation scores)."""
    validation = card.get("validation_pck")
    if not validation:
        return "not recorded: shipped before `ship` compared models on the validation slice"
    replaced = (f" against {validation['replaced']:.2f} % for the model it replaced" if "replaced" in validation
                else " (it replaced no model)")
    return (f"PCK@0.2 on LSPET-val (flip test, DARK) at shipping (`python benchmarks/lsp_model.py ship`): "
            f"{validation['run']:.2f} %{replaced}")


def write_markdown(shipped, rows: dict, tflite_rows: dict, report: dict) -> None:
    """docs/models.md, and the README's table between its markers."""
    from repose_tf.eval.metrics import format_part_table

    card = shipped.card
    best = f"{NAME}, flip test, dark"
    int8, fp32 = tflite_rows["int8"], tflite_rows["fp32"]
    text = f"""# Pretrained models

Written by `python benchmarks/lsp_model.py card` on {report['written']}, {report['cpu']}.

## `{NAME}` — the default of `repose predict`

```python
import repose_tf
model = repose_tf.load_model("{NAME}")      # Keras, float32; or --model {NAME} on any repose command
```

| | |
|---|---|
| network | `{shipped.config.name}` preset: the paper's blocks and widths (f, d, v, p; 64 and 32 per keypoint), two blocks where the paper has four, 64 x 64 input, kinematic updates at 8 x 8 ([architecture](architecture.md)) |
| data | LSP train (images 1-1000) + LSP-extended images 1-8500; validation: LSPET 8501-9000. No MPII (its images are not on this machine), unlike the paper, which trained on LSP + MPII |
| recipe | {recipe_text(card)} (`python benchmarks/lsp_model.py train`) |
| steps, batch | {card['steps']} steps of batch 16 ({card['steps'] * 16 / 9500:.0f} passes over the 9,500 training people), Adam with cosine decay in each run, to the last step its time budget reached (`--time-budget` in minutes: the run measured its pace and planned its steps) |
| hardware, time | {card['hardware']}; {card['hours']:.2f} h, bfloat16 compute |
| chosen by | {chosen(card)} |
| file | `repose_tf/weights/{NAME}.keras`, {(shipped.path.stat().st_size / 1e6):.1f} MB |

### LSP test (images 1001-2000, PCK@0.2, person-centric, Table 1's protocol)

{format_part_table(rows, markdown=True)}

Our rows: `repose evaluate --model {NAME} --data '{TEST}' [--flip] [--decode argmax]`; `repose score
--benchmark lsp --gt lsp/joints.mat --pred predictions-lsp.npy` gives the same table from the saved
predictions.  The LSP test split is scored only to report this model; nothing was chosen on it.
The mean-pose baseline is the average keypoint position of LSP's 1000 training people in their evaluation
crops, placed in every test crop and scored like a network (over LSP train + LSPET it scores 8 %: LSPET's
people are framed otherwise in their crops).

The bar set by the issue that asked for this model is 75 %, above Table 1's three graphical-model rows:
**{'met' if rows[best]['Mean'] >= 75 else 'not met'}** ({rows[best]['Mean']:.2f} %).

### int8 TFLite

| TFLite (XNNPACK, 2 threads) | PCK@0.2 LSP test (no flip, dark) | batch-1 ms | size MB |
|---|---:|---:|---:|
| fp32 | {fp32['parts']['Mean']:.2f} | {fp32['ms']:.1f} | {fp32['size_mb']:.1f} |
| int8 | {int8['parts']['Mean']:.2f} | {int8['ms']:.1f} | {int8['size_mb']:.1f} |

int8 is {int8['ms'] and fp32['ms'] / int8['ms']:.2f}x the speed of fp32 (median of {TIMING_CROPS} single crops, two
alternating rounds) and {int8['parts']['Mean'] - fp32['parts']['Mean']:+.2f} points of PCK@0.2.

### Training curve

![loss and LSPET-val PCK@0.2 over training](models/validation_pck.png)

### How the recipe was chosen (on LSPET-val, never on LSP test)

* Training length: the first `lsp-small` (shipped 2026-12-04: 7000 steps in 1.46 h, 60.21 % on LSP test)
  was still gaining on LSPET-val when its learning rate reached zero (LSPET-val PCK 45.0, 49.9, 52.3, 53.6 %
  at steps 4000 to 7000). The issue allows 2.5 hours, so the same recipe now trains for a 140-minute
  budget (`--time-budget 140`, the data check and tracing included), on the fused form of the network.
* A second run: the 140-minute run (11945 steps; 67.29 % on LSP test when shipped on 2026-12-05, 59.99 % on
  LSPET-val) was still gaining when its learning rate reached zero (LSPET-val PCK 56.5, 57.4, 58.4, 58.9 %
  at steps 8000 to 11000, in-training, no flip), and a retrain from scratch at the same recipe trailed it
  (49.8 against 52.2 % at step 6000). So a second run starts from its model with a fresh Adam and a new
  data seed, warms up to half the first run's learning rate and decays again over another 140-minute
  budget (`repose train --init`): the model has had both runs' hours, more than the 2.5 hours the issue
  gave one recipe, and the card counts them all.
* A third run: the second (14331 steps; 74.32 % on LSP test when shipped on 2026-12-05, 64.55 % on
  LSPET-val) was still gaining at its end (LSPET-val PCK 63.0, 63.1, 63.6, 63.9 % at steps 10000 to
  13000), so a third run starts from its model the same way, at lr 3e-4 for 120 minutes: the second run's
  5e-4 had cost 4 validation points in its first thousand steps, 3e-4 cost 1.4.

* Network: `small` was picked from training throughput, not from pilot runs: one-step timings at batch 16
  in bfloat16 on this machine (scratch runs, to be redone with `python benchmarks/precision.py --presets
  tiny small repose`) gave it about five times the paper's network's images per second, enough to see
  the data many times over in the time budget, with five times `tiny`'s parameters. Whether `tiny`'s extra
  passes or a wider network would do better in the same time is not measured yet.
* Heatmap width and learning rate: a first run at sigma 3 and lr 2e-3 (the `tiny` quickstart's choices)
  lost every decoder heatmap ReLU within 1000 steps: all-zero final heatmaps, a constant pose,
  validation PCK 0.26 % at steps 1000 and 2000, stopped. Two 400-step pilots then ran side by side
  (`repose train --config C.json` with the recipe above and `--steps 400 --warmup 100 --val-limit 200`):
  Glorot-initialised heatmap layers at sigma 3 and lr 2e-3 reached 5.7 % with heatmaps shrinking towards
  zero; sigma 4 with the small initialisation and lr 1e-3 reached 17.4 % with every output alive. The
  shipped recipe is the second.

### Limitations

* One person per image, roughly framed: the network sees the person box (or the whole image, when no
  `--box` is given) squeezed into 64 x 64 pixels.  It does not find people; give a box for a person in a
  larger scene.
* Trained on the sports poses LSP holds (athletics, badminton, baseball, gymnastics, parkour, soccer,
  tennis, volleyball), on 9,500 people: everyday scenes, crowds and unusual viewpoints are outside what it
  has seen.
* 64 x 64 input: a quarter of the paper's pixels; fine parts (wrists, ankles) are where it is weakest.
"""
    (DOCS / "models.md").write_text(text)
    print(f"wrote {DOCS / 'models.md'}")
    readme_rows = {k: v for k, v in rows.items() if "no flip" not in k and "argmax" not in k}
    write_readme_section(f"""{format_part_table(readme_rows, markdown=True)}

`{NAME}`: {card['steps']} steps of batch 16 in {runs(card)}{card['hours']:.2f} h on {card['hardware']}, LSP train +
LSP-extended (no MPII), 64 x 64 input; flip test and DARK decoding. Model card, every decoding, int8 TFLite
and limitations: [docs/models.md](docs/models.md). Reproduce: `python benchmarks/lsp_model.py data|train|ship|card`.""")


def write_readme_section(text: str) -> None:
    """Replace the README's pretrained-model table (between its two markers) with ``text``."""
    readme = ROOT / "README.md"
    content = readme.read_text()
    start, end = content.index(README_BEGIN) + len(README_BEGIN), content.index(README_END)
    readme.write_text(content[:start] + "\n" + text + "\n" + content[end:])
    print(f"updated {readme}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="stage", required=True)
    data = sub.add_parser("data", help="convert LSP and LSPET into tfrecords/")
    data.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets",
                      help="folder holding lsp/ and lspet/ (default ../shared/datasets)")
    sub.add_parser("train", help="train (or resume) the stages in turn: "
                                 + ", then ".join(str(run) for run, _ in STAGES))
    ship = sub.add_parser("ship", help="copy the trained model into repose_tf/weights/ with its card facts, if "
                                       "it beats the shipped one on the validation slice")
    ship.add_argument("--force", action="store_true", help="ship even if the shipped model validates higher")
    card = sub.add_parser("card", help="score the shipped model and write docs/models.md")
    card.add_argument("--quickstart", type=Path, help="the quickstart's model.keras, for its baseline row")
    args = parser.parse_args()
    os.chdir(ROOT)  # the recipe's paths (tfrecords/, runs/) are the repository's
    if args.stage == "data":
        run_data(args.datasets)
    elif args.stage == "train":
        run_train()
    elif args.stage == "ship":
        run_ship(args.force)
    else:
        run_card(args.quickstart)


if __name__ == "__main__":
    main()
