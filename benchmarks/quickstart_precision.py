"""The quickstart's training in each precision at equal time: which one reaches the higher PCK in its budget.

    python benchmarks/quickstart_precision.py                       # quickstart/data, 530 s per precision
    python benchmarks/quickstart_precision.py --seconds 120 --out /tmp/qp.md

``--precision auto`` picks bfloat16 on CPUs with AVX512-BF16 or AMX because a step is faster there; the
quickstart has a fixed time, so what counts is the PCK at the end of it.  Each precision trains the
quickstart's network with its recipe (:data:`repose_tf.quickstart.FULL`) on its data (written if missing:
the same people as ``repose quickstart``) for the quickstart's training budget, one after the other on
the quiet machine, then scores the 300 held-out people as the quickstart does (flip test, DARK).  Written
to ``--out`` (default ``docs/quickstart_precision.md``) with the CPU and the load.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from out_check import parse_checked

if TYPE_CHECKING:
    from repose_tf.quickstart import QuickstartPlan

ROOT = Path(__file__).resolve().parents[1]
PRECISIONS = ("bfloat16", "float32")
# The quickstart's training budget in its measured run of 2026-12-04 (docs/training.md): ten minutes less
# the data generation and the 60 s it then kept for evaluation, export and pictures (35 s since, so the
# quickstart now trains about 25 s longer than these comparisons).
TRAINING_SECONDS = 530.0


def train_and_score(plan: QuickstartPlan, data: Path, out: Path, seconds: float | None) -> dict:
    """Train the quickstart's network with ``plan`` (its recipe's precision) for ``seconds`` (None: the
    plan's steps) into ``out``; return its steps, training seconds, the precision policy it resolved to,
    its number of training people and the held-out PCK@0.2 (``parts``, ``n``)."""
    from repose_tf.config import get_config
    from repose_tf.eval.evaluate import evaluate, predictor_from_model
    from repose_tf.quickstart import PRESET, TRAIN_SEED, VAL_SEED, synthetic_split
    from repose_tf.train.fit import fit
    from repose_tf.train.strategy import make_strategy, precision_policy

    train = synthetic_split(data, "train", plan.train_count, TRAIN_SEED, progress=False)
    val = synthetic_split(data, "val", plan.val_count, VAL_SEED, progress=False)
    cfg = get_config(PRESET)
    start = time.time()
    result = fit(cfg, train, out, val_data=val, recipe=plan.recipe, strategy="default", progress=False,
                 verbose=False, time_budget=seconds)
    trained = time.time() - start
    precision = plan.recipe.precision
    scores = evaluate(predictor_from_model(result.model, cfg, precision), val, flip=plan.flip, decode=plan.decode,
                      progress=False).scores["synthetic"]
    policy = precision_policy(make_strategy("default"), precision)[0]
    return {"steps": result.step, "seconds": trained, "precision": policy, "train_count": plan.train_count,
            "parts": scores.parts, "n": scores.n}


def quickstart_parser(description: str, out: Path, each: str,
                      data_help: str = "the quickstart's data folder (written if missing)") -> argparse.ArgumentParser:
    """The arguments the quickstart benchmarks share: ``--data``, ``--seconds`` (training budget per
    ``each``) and ``--out`` (default ``out``); parse with :func:`out_check.parse_checked`."""
    sys.path.insert(0, str(ROOT))
    from repose_tf.cli._args import positive_float

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", type=Path, default=ROOT / "quickstart" / "data", help=data_help)
    parser.add_argument("--seconds", type=positive_float, default=TRAINING_SECONDS,
                        help=f"training budget per {each}")
    parser.add_argument("--out", type=Path, default=out)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = quickstart_parser(__doc__.splitlines()[0], ROOT / "docs" / "quickstart_precision.md", "precision")
    args = parse_checked(parser, argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from repose_tf.hardware import cpu_name
    from repose_tf.quickstart import FULL

    load_before = os.getloadavg()[0]
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in PRECISIONS:
            plan = dataclasses.replace(FULL, recipe=dataclasses.replace(FULL.recipe, precision=precision))
            results[precision] = train_and_score(plan, args.data, Path(tmp) / precision, args.seconds)
            r = results[precision]
            print(f"{precision}: {r['steps']} steps in {r['seconds']:.0f} s, PCK@0.2 {r['parts']['Mean']:.1f}",
                  flush=True)
    load_after = os.getloadavg()[0]
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    command = "python benchmarks/quickstart_precision.py " + " ".join(argv if argv is not None else sys.argv[1:])
    parts = list(next(iter(results.values()))["parts"])
    lines = [
        "# The quickstart's training: bfloat16 or float32 at equal time", "",
        f"Written by `{command.strip()}` on {when} UTC: **{cpu_name()}**; load average {load_before:.1f} before, "
        f"{load_after:.1f} after.", "",
        f"The `tiny` network with the quickstart's recipe and data, {args.seconds:.0f} s of training per "
        f"precision (the quickstart's training budget), one after the other; PCK@0.2 on the "
        f"{next(iter(results.values()))['n']} held-out people, flip test, DARK, as `repose quickstart` scores it.", "",
        "| precision | steps | s per step | " + " | ".join(parts) + " |",
        "|---|---:|---:|" + "---:|" * len(parts)]
    for precision, r in results.items():
        lines.append(f"| {precision} | {r['steps']} | {r['seconds'] / r['steps']:.3f} | "
                     + " | ".join(f"{r['parts'][p]:.1f}" for p in parts) + " |")
    args.out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
