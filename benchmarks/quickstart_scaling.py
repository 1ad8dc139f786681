"""How the quickstart's accuracy grows with training time: its recipe run for several step counts.

    python benchmarks/quickstart_scaling.py --steps 1400 --steps 4200 --steps 8400   # ~80 min
    python benchmarks/quickstart_scaling.py --dir quickstart --dir quickstart-long   # tabulate finished runs

``--steps N`` runs ``repose quickstart --out <root>/steps-N --steps N`` (the same data, network and
recipe, the cosine decay spread over N steps; a finished run there is reused, an interrupted one
resumes).  ``--dir`` adds the ``quickstart.json`` of a finished quickstart.  Each row gives a run's
steps, its total minutes (data, training, evaluation, export) and PCK@0.2 on the 300 held-out
people.  With two or more runs, a least-squares line PCK = a + b * log2(minutes) through them, and
the minutes at which that line reaches ``--target``: an extrapolation of the measured rows, quoted
as such.  Runs sequentially (never two trainings at once on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

from repose_tf.cli._args import positive_int

ROOT = Path(__file__).resolve().parents[1]


def run_steps(root: Path, steps: int) -> Path:
    """The quickstart trained for ``steps`` steps in ``root/steps-<steps>``; returns that directory."""
    from repose_tf.quickstart import quickstart

    out = root / f"steps-{steps}"
    quickstart(out, steps=steps)
    return out


def read_run(directory: Path) -> dict:
    """Steps, minutes, PCK and plan of a finished quickstart directory."""
    path = directory / "quickstart.json"
    if not path.is_file():
        raise SystemExit(f"{directory}: no quickstart.json (is it a finished `repose quickstart --out` directory?)")
    try:
        summary = json.loads(path.read_text())
        if summary["plan"].get("smoke"):
            raise SystemExit(f"{directory}: a --smoke run, not a measurement")
        # What must match between runs for one line through them to mean anything: all but the steps.
        plan = {**summary["plan"], "recipe": {k: v for k, v in summary["plan"]["recipe"].items() if k != "steps"}}
        return {"dir": str(directory), "steps": summary["steps"], "minutes": summary["seconds"]["total"] / 60,
                "train_minutes": summary["seconds"]["train"] / 60, "pck": summary["pck"],
                "load": summary["machine"]["load_average_at_start"], "n_val": summary["n_val"],
                "preset": summary["preset"]["name"], "plan": plan}
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise SystemExit(f"{path}: not a quickstart summary ({type(err).__name__}: {err})") from None


def fit_log2(rows: list[dict]) -> tuple[float, float]:
    """Least squares PCK = a + b * log2(minutes): returns (a, b)."""
    xs = [math.log2(r["minutes"]) for r in rows]
    ys = [r["pck"] for r in rows]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
    return my - b * mx, b


def check_same_plan(rows: list[dict]) -> None:
    """Refuse runs whose preset, data or recipe differ in anything but the number of steps."""
    first = rows[0]
    for r in rows[1:]:
        if (r["preset"], r["plan"]) != (first["preset"], first["plan"]):
            raise SystemExit(f"{r['dir']} and {first['dir']} differ in more than their steps (preset, data or "
                             "recipe): a line through them would not measure training time")


def report(rows: list[dict], target: float, command: str) -> str:
    rows = sorted(rows, key=lambda r: r["steps"])
    recipe = rows[0]["plan"]["recipe"]
    lines = [
        "# Quickstart accuracy against training time",
        "",
        f"Written by `{command}` on {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"The quickstart's data, `{rows[0]['preset']}` network and recipe (batch {recipe['batch_size']}, "
        f"Adam {recipe['learning_rate']:g}, {recipe['schedule']} schedule over the run's steps), PCK@0.2 on the "
        f"{rows[0]['n_val']} held-out synthetic people (flip test: {rows[0]['plan']['flip']}, "
        f"decoding: {rows[0]['plan']['decode']}).",
        "",
        "| run | steps | minutes, total | of which training | PCK@0.2 | load average at start |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(f"| `{r['dir']}` | {r['steps']} | {r['minutes']:.1f} | {r['train_minutes']:.1f} | "
                     f"{r['pck']:.1f} | {r['load']:.1f} |")
    if len({r["minutes"] for r in rows}) >= 2:
        a, b = fit_log2(rows)
        lines += ["", f"Least squares through these rows: PCK = {a:.1f} + {b:.2f} × log2(minutes), "
                  f"{b:.1f} points per doubling of the time."]
        if b > 0:
            minutes = 2 ** ((target - a) / b)
            lines.append(f"Extrapolated, that line reaches {target:g} % after about {minutes:.0f} minutes "
                         f"({minutes / 60:.1f} h) of the same recipe on this machine; an extrapolation, "
                         "not a measurement (the gain per doubling may shrink).")
        residuals = [r["pck"] - (a + b * math.log2(r["minutes"])) for r in rows]
        lines.append("Residuals of the rows: " + ", ".join(f"{e:+.1f}" for e in residuals) + " points.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, action="append", default=[],
                        help="run the quickstart for N steps (repeatable)")
    parser.add_argument("--dir", type=Path, action="append", default=[],
                        help="a finished quickstart output directory (repeatable)")
    parser.add_argument("--root", type=Path, default=ROOT / "runs" / "quickstart-scaling",
                        help="where --steps runs go (default: runs/quickstart-scaling)")
    parser.add_argument("--target", type=float, default=80.0, help="PCK@0.2 to extrapolate to (80)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "quickstart_scaling.md")
    args = parser.parse_args(argv)
    if not args.steps and not args.dir:
        parser.error("give --steps N or --dir DIR (at least one)")
    # The finished runs first, so a bad --dir is reported before any training starts.
    rows = [read_run(d) for d in args.dir]
    rows += [read_run(run_steps(args.root, n)) for n in args.steps]
    check_same_plan(rows)
    text = report(rows, args.target, "python benchmarks/quickstart_scaling.py " + " ".join(
        sys.argv[1:] if argv is None else argv))
    print(text)
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
