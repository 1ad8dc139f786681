"""The quickstart's batch size and learning rate at equal time: which reaches the higher PCK in its budget.

    python benchmarks/quickstart_recipes.py                          # every variant, ~9.5 min each
    python benchmarks/quickstart_recipes.py --only b8_lr5e-3 --only b32_lr1e-2 --seed 1

A larger batch runs more images per second through the ``tiny`` network on a CPU (its many small
per-keypoint layers cost about the same per step whatever the batch: ``python benchmarks/precision.py
--presets tiny --batch 32``) but takes fewer optimizer steps in the same time.  Each variant trains the
quickstart's network with its recipe (:data:`repose_tf.quickstart.FULL`, precision ``auto``) with the
variant's batch size and peak learning rate, for the quickstart's training budget, one after the other,
then scores the 300 held-out people as the quickstart does (flip test, DARK), as
``benchmarks/quickstart_precision.py`` does for the precisions.  ``--seed`` changes the initial weights
and the data stream (the recipe's ``seed``), to see the run-to-run spread.  Written to ``--out``
(default ``docs/quickstart_recipes.md``) with the CPU and the load.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "benchmarks"), str(ROOT)]
from out_check import parse_checked  # noqa: E402
from quickstart_precision import quickstart_parser, train_and_score  # noqa: E402

if TYPE_CHECKING:
    from repose_tf.quickstart import QuickstartPlan


@dataclasses.dataclass(frozen=True)
class Variant:
    """What a variant changes in the quickstart's plan: batch size, peak learning rate, and the number of
    synthetic training people (None: the plan's)."""

    batch: int
    lr: float
    train_count: int | None = None


VARIANTS = {
    "b8_lr5e-3": Variant(8, 5e-3),
    "b16_lr5e-3": Variant(16, 5e-3),
    "b16_lr1e-2": Variant(16, 1e-2),
    "b32_lr5e-3": Variant(32, 5e-3),
    "b32_lr7e-3": Variant(32, 7e-3),
    "b32_lr1e-2": Variant(32, 1e-2),
    "b32_lr2e-2": Variant(32, 2e-2),
    "b64_lr1e-2": Variant(64, 1e-2),
    "b32_lr7e-3_8000": Variant(32, 7e-3, 8000),
}


def variant_plan(plan: QuickstartPlan, name: str, seed: int) -> QuickstartPlan:
    """``plan`` with the batch size, peak learning rate and training people of variant ``name`` and the
    recipe seed ``seed``."""
    v = VARIANTS[name]
    return dataclasses.replace(plan, train_count=v.train_count or plan.train_count,
                               recipe=dataclasses.replace(plan.recipe, batch_size=v.batch, learning_rate=v.lr,
                                                          seed=seed))


def data_dir(data: Path, plan: QuickstartPlan, default: QuickstartPlan) -> Path:
    """Where a plan's people go: ``data`` for the default number of training people, else a sibling
    ``<data>-<count>`` (so the quickstart's own data is not rewritten)."""
    return data if plan.train_count == default.train_count else data.with_name(f"{data.name}-{plan.train_count}")


def table(results: dict[str, dict]) -> list[str]:
    """Markdown rows of ``train_and_score`` results by variant name: steps, images/s, PCK@0.2 per part."""
    parts = list(next(iter(results.values()))["parts"])
    lines = ["| variant | batch | peak lr | training people | steps | images/s | " + " | ".join(parts) + " |",
             "|---|---:|---:|---:|---:|---:|" + "---:|" * len(parts)]
    for name, r in results.items():
        v = VARIANTS[name]
        lines.append(f"| {name} | {v.batch} | {v.lr:g} | {r['train_count']} | {r['steps']} | "
                     f"{r['steps'] * v.batch / r['seconds']:.1f} | " + " | ".join(f"{r['parts'][p]:.1f}" for p in parts)
                     + " |")
    return lines


def report(results: dict[str, dict], command: str, cpu: str, load_before: float, seconds: float, seed: int) -> str:
    """The Markdown file of ``results`` so far."""
    first = next(iter(results.values()))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M")
    lines = [
        "# The quickstart's batch size and learning rate at equal time", "",
        f"Written by `{command}` on {when} UTC: **{cpu}**; load average {load_before:.1f} at the start, "
        f"{os.getloadavg()[0]:.1f} at the end.", "",
        f"The `tiny` network with the quickstart's recipe and data (precision `auto`: {first['precision']}), "
        f"{seconds:.0f} s of training per variant (the quickstart's training budget of 2026-12-04), one after the "
        "other, "
        f"seed {seed}; PCK@0.2 on the {first['n']} held-out people, flip test, DARK, as `repose quickstart` "
        "scores it. More training people take longer to generate (about 10 s per 4000 here); the variants "
        "train for the same time regardless.", "", *table(results)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = quickstart_parser(__doc__.splitlines()[0], ROOT / "docs" / "quickstart_recipes.md", "variant",
                               data_help="the quickstart's data folder (written if missing; other numbers of "
                                         "training people go to <data>-<count>)")
    parser.add_argument("--only", action="append", choices=sorted(VARIANTS), help="run only these variants")
    parser.add_argument("--seed", type=int, default=0, help="the recipe's seed (initial weights, data stream)")
    args = parse_checked(parser, argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from repose_tf.hardware import cpu_name
    from repose_tf.quickstart import FULL

    load_before = os.getloadavg()[0]
    command = "python benchmarks/quickstart_recipes.py " + " ".join(argv if argv is not None else sys.argv[1:])
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.only or VARIANTS:
            plan = variant_plan(FULL, name, args.seed)
            results[name] = r = train_and_score(plan, data_dir(args.data, plan, FULL), Path(tmp) / name,
                                                args.seconds)
            print(f"{name}: {r['steps']} steps in {r['seconds']:.0f} s, PCK@0.2 {r['parts']['Mean']:.1f}",
                  flush=True)
            # Written after every variant: an interrupted run keeps what it measured.
            args.out.write_text(report(results, command.strip(), cpu_name(), load_before, args.seconds, args.seed))
    print(args.out.read_text(), end="")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
