"""``repose train``: train a network on TFRecords; rerunning the same command resumes.

    repose train --out runs/repose                                   # the paper's recipe and data mix
    repose train --out runs/tiny --preset tiny --data 'tfrecords/synthetic-train-*.tfrecord' \\
        --val 'tfrecords/synthetic-val-*.tfrecord' --steps 2000 --batch 16
    repose train --out runs/mix --data 'tfrecords/lsp-train-*.tfrecord@1' --data 'tfrecords/mpii-train-*.tfrecord@2'
    repose train --out runs/more --init lsp-small --data 'tfrecords/my-train-*.tfrecord' --steps 5000 --lr 3e-4

Everything is :func:`repose_tf.train.fit`; see docs/training.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from repose_tf.cli import UserError
from repose_tf.cli._args import fraction, output_problem, positive_float, positive_int
from repose_tf.hardware import AUGMENT_PLACES, PRECISIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    # No TensorFlow import here: building the parser stays light.  Defaults of None are the
    # recipe's (the paper's); names (schedule, strategy) are checked by the library.
    p = subparsers.add_parser(
        "train", help="train a network (Keras fit); rerun the same command to resume",
        description="Train RePose with the paper's recipe (Adam, batch 64, lr 1e-3 -> 5e-4 at 1M -> 1e-6 at "
                    "1.3M, 2M steps, LSP + LSPET + MPII) or any part of it overridden.  Checkpoints, "
                    "history.csv, TensorBoard logs and the final model.keras go to --out.")
    p.add_argument("--out", required=True, type=Path, help="run directory (resumed if it holds checkpoints)")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--preset", help="network preset (default: repose, or --init's network)")
    which.add_argument("--config", type=Path, metavar="JSON", help="network config file (RePoseConfig JSON)")
    p.add_argument("--init", metavar="MODEL",
                   help="start from the weights of a trained model of the same network (a shipped name such as "
                        "lsp-small, or a .keras file), with a fresh optimizer and schedule: fine-tuning, or a warm "
                        "restart of a finished run; records of other keypoints take the layers both networks have; "
                        "a run that has checkpoints resumes from them instead")
    p.add_argument("--data", action="append", metavar="PATTERN[@WEIGHT]",
                   help="training TFRecords, repeatable; with @WEIGHT, sampling weights of a mix "
                        "(default: the paper's tfrecords/{lsp,lspet,mpii}-train-*.tfrecord, pooled)")
    p.add_argument("--val", action="append", metavar="PATTERN",
                   help="validation TFRecords for the periodic PCK, repeatable")
    p.add_argument("--steps", type=positive_int, help="optimizer steps (default 2000000); the paper schedule "
                                                       "scales with it")
    p.add_argument("--batch", type=positive_int, help="global batch size (default 64)")
    p.add_argument("--lr", type=positive_float, help="base learning rate (default 1e-3)")
    p.add_argument("--schedule", help="paper (default): 1x, 0.5x after 50%%, 0.001x after 65%% of --steps; "
                                      "cosine: warm-up, then cosine decay")
    p.add_argument("--warmup", type=int, metavar="STEPS", help="warm-up steps of --schedule cosine (default 0)")
    p.add_argument("--checkpoint-every", type=positive_int, metavar="STEPS",
                   help="steps between checkpoints and history rows (default 1000)")
    p.add_argument("--keep", type=positive_int, help="checkpoints kept (default 3)")
    p.add_argument("--pck-every", type=int, metavar="STEPS",
                   help="steps between validation PCKs, 0 = never (default 10000)")
    p.add_argument("--val-limit", type=positive_int, metavar="N", help="validate on the first N records only")
    p.add_argument("--seed", type=int, help="seed of the initial weights and the data (default 0)")
    p.add_argument("--strategy", default="auto",
                   help="auto (default: a TPU, several workers, several GPUs, or one device), default, mirrored, "
                        "multiworker or tpu")
    p.add_argument("--precision", default="auto", choices=PRECISIONS,
                   help="compute precision; variables stay float32.  auto (default): float16 on a GPU, bfloat16 "
                        "on a TPU or a CPU with AVX512-BF16/AMX-BF16, float32 otherwise; the run says what it chose")
    p.add_argument("--xla", action="store_true", help="XLA-compile the training step (jit_compile)")
    p.add_argument("--augment-in", default="auto", choices=AUGMENT_PLACES,
                   help="where batches are cropped and augmented: pipeline (tf.data, on the host), step (in the "
                        "train step, on the accelerator), auto (default: step on a GPU, pipeline otherwise)")
    p.add_argument("--time-budget", type=positive_float, metavar="MINUTES",
                   help="train for this long (tracing included): the run measures its pace and stops at the step "
                        "it reaches by then (at most --steps), the cosine schedule decaying to that step")
    p.add_argument("--max-bad-fraction", type=fraction, default=0.01, metavar="F",
                   help="largest share of unreadable training records (truncated shard, corrupt image) that is "
                        "skipped with a report; more stops the run before training (default 0.01)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import tensorflow as tf

    from repose_tf.train.checkpoints import read_config
    from repose_tf.train.fit import (
        PAPER_DATA,
        DataSource,
        TrainingDiverged,
        TrainRecipe,
        fit,
        init_config,
    )

    problem = output_problem(args.out, "--out", folder=True)
    if problem:
        raise UserError(problem)
    if args.config:
        config = read_config(args.config)
    elif args.preset or not args.init:
        config = args.preset or "repose"
    else:
        try:
            config = init_config(args.init)
        except ValueError as e:
            raise UserError(f"--init {e}") from None
    sources = [DataSource.parse(d) for d in args.data] if args.data else list(PAPER_DATA)
    missing = [s.pattern for s in sources if not tf.io.gfile.glob(s.pattern)]
    if missing and not args.data:
        raise UserError(f"no files match the paper's training data {missing}: convert LSP, LSPET and MPII into "
                        "tfrecords/ first (repose convert ...), or give --data")
    given = {"steps": args.steps, "batch_size": args.batch, "learning_rate": args.lr, "schedule": args.schedule,
             "warmup_steps": args.warmup, "checkpoint_every": args.checkpoint_every, "keep_checkpoints": args.keep,
             "pck_every": args.pck_every, "val_limit": args.val_limit, "seed": args.seed}
    recipe = TrainRecipe(**{k: v for k, v in given.items() if v is not None},
                         precision=args.precision, jit_compile=args.xla, augment_in=args.augment_in)
    try:
        result = fit(config, sources, args.out, val_data=args.val, recipe=recipe, strategy=args.strategy,
                     progress=not args.no_progress, max_bad_fraction=args.max_bad_fraction,
                     time_budget=None if args.time_budget is None else 60 * args.time_budget, init_from=args.init)
    except TrainingDiverged as e:
        raise UserError(str(e)) from None
    except tf.errors.OpError as e:
        raise UserError(f"training stopped on a TensorFlow error: {' '.join(e.message.split())[:500]}") from None
    if result.step < result.last_step:
        print(f"repose train: stopped at step {result.step} of {result.last_step}; the same command resumes the run",
              file=sys.stderr)
        return 1
    return 0
