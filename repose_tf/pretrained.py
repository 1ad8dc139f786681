"""Pretrained RePose networks shipped inside the package, found by name (model card: docs/models.md).

    import repose_tf
    model = repose_tf.load_model("lsp-small")     # a Keras model of build_model, float32, trained on LSP + LSPET
    repose predict photo.jpg                       # the default model, DEFAULT_MODEL
    repose evaluate --model lsp-small --data 'tfrecords/lsp-test-*.tfrecord'

Each model is two files in ``repose_tf/weights/``: ``<name>.keras`` (the network) and ``<name>.json``
(its :class:`RePoseConfig` under ``"config"``, and the facts of its model card: data, the command that
trained it, hardware, hours, scores).  Any name that is not shipped is a path or a preset, as before.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from repose_tf.config import RePoseConfig

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_MODEL = "lsp-small"


@dataclasses.dataclass(frozen=True)
class PretrainedModel:
    """A shipped network.

    Attributes:
      name: the name it is found by (``lsp-small``).
      path: its ``.keras`` file.
      config: the config it was built from.
      card: the rest of its JSON: ``data``, ``command``, ``hardware``, ``hours``, ``scores``...
    """

    name: str
    path: Path
    config: RePoseConfig
    card: dict[str, Any]


def available() -> list[str]:
    """Names of the shipped models (a ``.keras`` file with its ``.json`` beside it)."""
    return sorted(p.stem for p in WEIGHTS_DIR.glob("*.keras") if p.with_suffix(".json").is_file())


def is_pretrained(name: str | Path) -> bool:
    """Whether ``name`` is a shipped model's name (a path never is)."""
    return isinstance(name, str) and name in available()


def get(name: str) -> PretrainedModel:
    """The shipped model ``name``.

    Raises:
      ValueError: no model of that name, or its JSON is not a model card.
    """
    if not is_pretrained(name):
        raise ValueError(f"no pretrained model named {name!r}; shipped: {', '.join(available()) or 'none'}")
    path = WEIGHTS_DIR / f"{name}.keras"
    try:
        card = json.loads(path.with_suffix(".json").read_text())
        config = RePoseConfig.from_dict(card.pop("config"))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path.with_suffix('.json')}: not a model card ({e})") from None
    return PretrainedModel(name, path, config, card)


def config_for(model: str | Path) -> RePoseConfig | None:
    """The config of a shipped model's name, None for anything else (a path or a preset)."""
    return get(str(model)).config if is_pretrained(model) else None
