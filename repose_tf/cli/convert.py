"""``repose convert``: benchmark datasets, COCO-format keypoint sets (or synthetic people) -> TFRecord shards.

    repose convert lsp   --joints lsp/joints.mat   --images lsp/images   --out tfrecords [--split train|test|all]
    repose convert lspet --joints lspet/joints.mat --images lspet/images --out tfrecords
    repose convert mpii  --annotations valid.json  --images mpii/images  --out tfrecords [--gt-mat gt_valid.mat]
    repose convert coco  --annotations person_keypoints_train.json --images images --out tfrecords \
        [--category NAME] [--skeleton my_body.json] [--split train] [--dataset coco]
    repose convert synthetic --count 512 --seed 0 --out tfrecords [--image-size 192]

Each split lands as ``<out>/<dataset>-<split>-NNNNN-of-MMMMM.tfrecord`` plus the sidecar
``<out>/<dataset>-<split>.json`` (see :mod:`repose_tf.data.shards`).  Bad people and images
are skipped, reported and counted in the sidecar; ``--strict`` makes the first one an error.

The converters (and TensorFlow, which they need) are imported by the handlers, so that
building the ``repose`` parser stays light.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from repose_tf.cli import UserError
from repose_tf.cli._args import image_range, positive_int
from repose_tf.data.convert import InputError
from repose_tf.data.convert.images import StorageOptions
from repose_tf.data.shards import DEFAULT_RECORDS_PER_SHARD, write_shards

if TYPE_CHECKING:
    from repose_tf.data.convert.common import ConvertOptions



def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, type=Path, help="output folder of the shards and sidecars")
    p.add_argument("--records-per-shard", type=positive_int, default=DEFAULT_RECORDS_PER_SHARD,
                   metavar="N", help=f"records per shard (default {DEFAULT_RECORDS_PER_SHARD})")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _add_benchmark_options(p: argparse.ArgumentParser) -> None:
    _add_output_options(p)
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="convert only the first N images of each split")
    p.add_argument("--strict", action="store_true",
                   help="stop at the first bad person or image instead of skipping it")
    p.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                   help="threads decoding and encoding images (default: the number of cores)")
    defaults = StorageOptions()
    p.add_argument("--crop-margin", type=float, default=defaults.crop_margin, metavar="M",
                   help="store a square crop of side M * person box around each person "
                        f"(default {defaults.crop_margin})")
    p.add_argument("--max-box-px", type=int, default=defaults.max_box_px, metavar="P",
                   help="downscale crops whose person box exceeds P px; 0 = never "
                        f"(default {defaults.max_box_px})")
    p.add_argument("--source-bytes", action="store_true",
                   help="store each source image whole and unchanged instead of a crop")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "convert", help="convert LSP, LSPET, MPII, COCO-format keypoints (or synthetic people) to TFRecord shards",
        description="Write one tf.train.Example per person into <out>/<dataset>-<split>-NNNNN-of-MMMMM"
                    ".tfrecord, with a JSON sidecar <out>/<dataset>-<split>.json.")
    sub = p.add_subparsers(dest="dataset", required=True, metavar="DATASET")

    lsp = sub.add_parser("lsp", help="Leeds Sports Pose: joints.mat (3, 14, 2000) + im0001.jpg ...")
    lsp.add_argument("--joints", required=True, type=Path, help="LSP joints.mat")
    lsp.add_argument("--images", required=True, type=Path, help="folder of im0001.jpg ... im2000.jpg")
    lsp.add_argument("--split", choices=("train", "test", "all"), default="all",
                     help="images 1-1000 (train), 1001-2000 (test) or both as two splits (default)")
    _add_benchmark_options(lsp)
    lsp.set_defaults(func=run_lsp)

    lspet = sub.add_parser("lspet", help="LSP extended: joints.mat (14, 3, 10000) + im00001.jpg ...")
    lspet.add_argument("--joints", required=True, type=Path, help="LSPET joints.mat")
    lspet.add_argument("--images", required=True, type=Path, help="folder of im00001.jpg ... im10000.jpg")
    lspet.add_argument("--val", type=image_range, metavar="FIRST-LAST",
                       help="hold images FIRST..LAST (1-based, inclusive) out of lspet-train as lspet-val, "
                            "e.g. 8501-9000")
    _add_benchmark_options(lspet)
    lspet.set_defaults(func=run_lspet)

    mpii = sub.add_parser("mpii", help="MPII: HRNet/mmpose train.json/valid.json or CPM mpii_annotations.json")
    mpii.add_argument("--annotations", required=True, type=Path, help="the annotation JSON (form auto-detected)")
    mpii.add_argument("--images", required=True, type=Path, help="folder of the MPII images")
    mpii.add_argument("--split", help="HRNet form: the split's name (default: from the file name, e.g. "
                                      "valid.json -> valid); CPM form: train or valid (default both)")
    mpii.add_argument("--gt-mat", type=Path, metavar="FILE",
                      help="gt_valid.mat: attach its head boxes to the validation people, in order")
    _add_benchmark_options(mpii)
    mpii.set_defaults(func=run_mpii)

    coco = sub.add_parser("coco", help="COCO keypoint JSON (also CVAT, Label Studio, Roboflow exports) + images")
    coco.add_argument("--annotations", required=True, type=Path, help="the COCO keypoint JSON")
    coco.add_argument("--images", required=True, type=Path, help="the folder the images' file_name is relative to")
    coco.add_argument("--category", metavar="NAME",
                      help="the category to convert (default: the only one with keypoints)")
    coco.add_argument("--skeleton", metavar="FILE|NAME",
                      help="a skeleton JSON file or preset (coco17) replacing the category's: the same keypoint "
                           "names in the same order, with edges, flip pairs, ordering and table parts of your own")
    coco.add_argument("--split", help="the split's name (default: from the file name, e.g. *val*.json -> valid)")
    coco.add_argument("--dataset", default="coco",
                      help="the dataset's name in the shard names and evaluation tables (default coco)")
    _add_benchmark_options(coco)
    coco.set_defaults(func=run_coco)

    syn = sub.add_parser("synthetic", help="synthetic people (repose_tf.data.synthetic)")
    syn.add_argument("--count", required=True, type=positive_int, help="number of people")
    syn.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    syn.add_argument("--image-size", type=positive_int, default=192, metavar="PX",
                     help="side of the square images (default 192)")
    syn.add_argument("--split", default="train", help="split name (default train)")
    syn.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1, metavar="N",
                     help="processes rendering people (default: the number of cores)")
    _add_output_options(syn)
    syn.set_defaults(func=run_synthetic)


def _options(args: argparse.Namespace) -> ConvertOptions:
    from repose_tf.data.convert.common import ConvertOptions

    try:
        storage = StorageOptions(args.crop_margin, args.max_box_px, args.source_bytes)
    except ValueError as e:
        raise UserError(str(e)) from None
    return ConvertOptions(storage=storage, strict=args.strict, workers=args.workers,
                          records_per_shard=args.records_per_shard, progress=not args.no_progress)


def _report(summaries: list[dict[str, Any]], out: Path) -> int:
    for s in summaries:
        counts = s["counts"]
        skipped = f", skipped {counts['skipped']} {counts['skipped_by_reason']}" if counts["skipped"] else ""
        print(f"{s['dataset']}-{s['split']}: wrote {counts['written']} record(s) in {len(s['shards'])} "
              f"shard(s){skipped} -> {out / (s['dataset'] + '-' + s['split'])}-*.tfrecord")
        if "selection" in s:
            left = s["selection"]
            print(f"  category {left['category']!r}, skeleton {s['skeleton']!r} ({len(s['keypoints'])} keypoints); "
                  f"left out: {left['crowd']} crowd, {left['no_keypoints']} without a labelled keypoint, "
                  f"{left['other_categories']} of other categories")
    return 0


def _run(convert: Callable[..., dict[str, Any] | list[dict[str, Any]]], args: argparse.Namespace,
         **kwargs: Any) -> int:
    """Call the converter ``convert`` (returning one sidecar or a list), input errors as UserError."""
    try:
        result = convert(out_dir=args.out, limit=args.limit, options=_options(args), **kwargs)
    except (InputError, OSError) as e:  # bad input, or an output folder that cannot be written
        raise UserError(str(e)) from None
    return _report(result if isinstance(result, list) else [result], args.out)


def run_lsp(args: argparse.Namespace) -> int:
    from repose_tf.data.convert.lsp import convert_lsp

    splits = ("train", "test") if args.split == "all" else (args.split,)
    return _run(convert_lsp, args, joints_mat=args.joints, images_dir=args.images, splits=splits)


def run_lspet(args: argparse.Namespace) -> int:
    from repose_tf.data.convert.lsp import convert_lspet

    return _run(convert_lspet, args, joints_mat=args.joints, images_dir=args.images, val=args.val)


def run_mpii(args: argparse.Namespace) -> int:
    from repose_tf.data.convert.mpii import convert_mpii

    return _run(convert_mpii, args, annotation_file=args.annotations, images_dir=args.images,
                split=args.split, gt_mat=args.gt_mat)


def run_coco(args: argparse.Namespace) -> int:
    from repose_tf.data.convert.coco import convert_coco
    from repose_tf.skeleton_file import load_skeleton

    skeleton = None if args.skeleton is None else load_skeleton(args.skeleton)
    return _run(convert_coco, args, annotation_file=args.annotations, images_dir=args.images, split=args.split,
                category=args.category, skeleton=skeleton, dataset=args.dataset)


def run_synthetic(args: argparse.Namespace) -> int:
    from repose_tf.data.synthetic import generate_people

    try:
        summary = write_shards(
            generate_people(args.count, args.seed, args.image_size, workers=args.workers),
            args.out, "synthetic", args.split,
            records_per_shard=args.records_per_shard, total=args.count, progress=not args.no_progress,
            metadata={"sources": {"generator": "repose_tf.data.synthetic.generate_people", "count": args.count,
                                  "seed": args.seed, "image_size": args.image_size}})
    except OSError as e:  # an output folder that cannot be written
        raise UserError(str(e)) from None
    return _report([summary], args.out)
