"""Bad inputs and output paths across the ``repose`` commands: one line on stderr, exit code 2, no traceback,
nothing written over, and the check made before the work starts.

Each case: the command line (``{tmp}`` is a scratch folder holding the files of :func:`scratch`), the
expected exit code, a fragment of the expected message, and the files that must come out unchanged.

Issue 16's items that are not one refused command line have their tests beside the code:
2 EXIF orientation (tests/cli/test_predict_cli.py, tests/test_inference.py); 3 a truncated shard in
training (here, and tests/train/test_fit.py, tests/data/test_scan.py); 4 the same shard bytes from two
processes (tests/cli/test_convert_cli.py); 5 Ctrl-C and TensorFlow's log lines
(tests/cli/test_interrupt_and_quiet.py); 6 kill -9 leftovers (tests/test_tempdirs.py); 10 overlays of
large images (tests/test_viz.py, tests/cli/test_predict_cli.py); the noise list: history columns and the
"compiling" progress bar (tests/train/test_callbacks.py), earlier evaluate outputs
(tests/cli/test_train_cli.py), negative --box and --model RUN_DIR (tests/cli/test_predict_cli.py),
summarised skips (tests/data/test_shards.py), preset names (tests/test_pretrained.py), overlay
opacity (tests/test_viz.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from repose_tf.config import get_config
from repose_tf.export.crops import CropOptions
from repose_tf.export.metadata import ExportMetadata
from tests.export.artifacts import run_cli
from tests.train.helpers import write_people

CASES = [
    # Outputs never replace an input, nor land on a file.
    (["predict", "{tmp}/photo.png", "--model", "tiny", "--out", "{tmp}"], 2,
     "photo.png is an input image and would be replaced by an output", ["photo.png"]),
    (["predict", "{tmp}/photo.png", "--model", "tiny", "--out", "{tmp}/afile"], 2,
     "--out {tmp}/afile: is a file; give a folder", ["afile"]),
    (["predict", "{tmp}/photo.png", "--model", "tiny", "--out", "{tmp}/earlier", "--no-overlay"], 2,
     "photo.json exist(s) from an earlier run: pass --overwrite", ["earlier/photo.json"]),
    (["train", "--out", "{tmp}/afile", "--preset", "tiny", "--data", "{tmp}/none-*.tfrecord"], 2,
     "--out {tmp}/afile: is a file; give a folder", ["afile"]),
    (["evaluate", "--model", "tiny", "--data", "{tmp}/*.mat", "--json", "{tmp}/afile/x.json"], 2,
     "--json {tmp}/afile/x.json: {tmp}/afile is a file, so nothing can be written below it", ["afile"]),
    (["score", "--benchmark", "lsp", "--gt", "{tmp}/text.mat", "--pred", "{tmp}/p.npy", "--json", "{tmp}"], 2,
     "--json {tmp}: is a folder; give a file name", []),
    # Cheap arguments are checked before the model loads (the model here does not exist).
    (["evaluate", "--model", "{tmp}/none.keras", "--data", "{tmp}/none-*.tfrecord"], 2,
     "no files match the TFRecord pattern '{tmp}/none-*.tfrecord'", []),
    (["evaluate", "--model", "{tmp}/none.keras", "--data", "{tmp}/*.mat", "--decode", "centroid"], 2,
     "--decode must be one of", []),
    (["evaluate", "--model", "{tmp}/none.keras", "--data", "{tmp}/*.mat", "--metric", "pck0.5"], 2,
     "--metric must be one of auto, pck, pckh, got 'pck0.5'", []),
    # Unreadable MATLAB files name the file.
    (["score", "--benchmark", "lsp", "--gt", "{tmp}/text.mat", "--pred", "{tmp}/p.npy"], 2,
     "{tmp}/text.mat: not a readable .mat file", ["text.mat"]),
    (["score", "--benchmark", "lsp", "--gt", "{tmp}/empty.mat", "--pred", "{tmp}/p.npy"], 2,
     "{tmp}/empty.mat: not a readable .mat file", []),
    (["convert", "lspet", "--joints", "{tmp}/text.mat", "--images", "{tmp}", "--out", "{tmp}/records"], 2,
     "{tmp}/text.mat: not a readable MATLAB file", ["text.mat"]),
    (["convert", "lspet", "--joints", "{tmp}/empty.mat", "--images", "{tmp}", "--out", "{tmp}/records"], 2,
     "{tmp}/empty.mat: not a readable MATLAB file", []),
    # Broken model files are named as broken, not as missing.
    (["predict", "{tmp}/photo.png", "--model", "{tmp}/broken.keras", "--out", "{tmp}/o1"], 2,
     "{tmp}/broken.keras: not a loadable Keras model", ["broken.keras"]),
    (["export", "--model", "{tmp}/broken.keras", "--out", "{tmp}/o2"], 2,
     "{tmp}/broken.keras: not a loadable Keras model", ["broken.keras"]),
    (["evaluate", "--model", "{tmp}/broken.keras", "--data", "{tmp}/*.mat"], 2,
     "{tmp}/broken.keras: not a loadable Keras model", ["broken.keras"]),
    (["predict", "{tmp}/photo.png", "--model", "{tmp}/broken.tflite", "--out", "{tmp}/o3"], 2,
     "{tmp}/broken.tflite: not a loadable TFLite model (The model is not a valid Flatbuffer buffer)",
     ["broken.tflite"]),
    (["convert", "lspet", "--joints", "{tmp}/text.mat", "--images", "{tmp}", "--out", "{tmp}/r", "--val", "9-1"],
     2, "--val: '9-1' is not FIRST-LAST with 1 <= FIRST <= LAST", []),
    # A truncated shard: counted and refused before training (issue 16 item 3).
    (["train", "--out", "{tmp}/run", "--preset", "tiny", "--data", "{tmp}/cut-train-*.tfrecord", "--no-progress"],
     2, "{tmp}/cut-train-00000-of-00002.tfrecord: unreadable after record", ["cut-train-00000-of-00002.tfrecord"]),
    (["train", "--out", "{tmp}/run", "--preset", "tiny", "--data", "{tmp}/cut-train-*.tfrecord",
      "--max-bad-fraction", "1"], 2, "--max-bad-fraction: must be in [0, 1), got 1.0", []),
    # --init names a trained model.
    (["train", "--out", "{tmp}/run", "--init", "tiny", "--data", "{tmp}/cut-train-*.tfrecord"], 2,
     "--init tiny: not a trained model (a shipped name, or a .keras file written by repose; a preset name has no "
     "trained weights)", []),
    (["train", "--out", "{tmp}/run", "--init", "{tmp}/none.keras", "--data", "{tmp}/cut-train-*.tfrecord"], 2,
     "--init {tmp}/none.keras: no such model file", []),
    (["train", "--out", "{tmp}/run", "--init", "{tmp}/broken.keras", "--data", "{tmp}/cut-train-*.tfrecord"], 2,
     "--init {tmp}/broken.keras: not a trained model", ["broken.keras"]),
    # Custom keypoints: the COCO converter, skeleton files, the PCK normalisation.
    (["convert", "coco", "--annotations", "{tmp}/none.json", "--images", "{tmp}", "--out", "{tmp}/r"], 2,
     "{tmp}/none.json: no such file", []),
    (["convert", "coco", "--annotations", "{tmp}/none.json", "--images", "{tmp}", "--out", "{tmp}/r",
      "--skeleton", "{tmp}/text.mat"], 2, "{tmp}/text.mat: not a readable JSON file", ["text.mat"]),
    (["convert", "coco", "--annotations", "{tmp}/none.json", "--images", "{tmp}", "--out", "{tmp}/r",
      "--skeleton", "coco18"], 2, "skeleton 'coco18' is neither a preset (lsp14, coco17) nor a file", []),
    (["evaluate", "--model", "{tmp}/none.keras", "--data", "{tmp}/*.mat", "--norm", "head"], 2,
     "--norm must be one of auto, torso, box, got 'head'", []),
]


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("bad")
    Image.new("RGB", (40, 60), (90, 90, 90)).save(tmp / "photo.png")
    (tmp / "afile").write_text("not a folder\n")
    (tmp / "text.mat").write_text("joints = [1 2 3]\n")
    (tmp / "empty.mat").write_bytes(b"")
    (tmp / "p.npy").write_bytes(b"")
    (tmp / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp / "broken.tflite").write_bytes(b"garbage")
    ExportMetadata(get_config("tiny"), CropOptions(64), "dark", "tflite-fp32").write(tmp / "broken.tflite.json")
    (tmp / "earlier").mkdir()
    (tmp / "earlier" / "photo.json").write_text("{}\n")
    write_people(tmp, "train", 4, 0, dataset="cut")
    cut = tmp / "cut-train-00000-of-00002.tfrecord"
    cut.write_bytes(cut.read_bytes()[:-20])
    return tmp


@pytest.mark.parametrize("argv, code, message, unchanged", CASES, ids=lambda v: v if isinstance(v, int) else None)
def test_bad_input(argv: list[str], code: int, message: str, unchanged: list[str], scratch: Path,
                   capsys: pytest.CaptureFixture) -> None:
    before = {name: (scratch / name).read_bytes() for name in unchanged}
    args = [a.replace("{tmp}", str(scratch)) for a in argv]
    try:
        got = run_cli(args).code
    except SystemExit as e:  # argparse's usage errors
        got = e.code
    err = capsys.readouterr().err
    assert got == code, err
    assert message.replace("{tmp}", str(scratch)) in err
    assert "Traceback" not in err and len([line for line in err.splitlines() if "error" in line]) == 1
    assert {name: (scratch / name).read_bytes() for name in unchanged} == before
