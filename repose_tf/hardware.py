"""What this machine's CPU can do, read from ``/proc/cpuinfo``: its name for benchmark reports, and the
precision that trains and runs fastest on it.

    >>> from repose_tf.hardware import cpu_name, auto_precision
    >>> cpu_name()                  # e.g. 'AMD EPYC (2 cores; AVX-512, AVX512-BF16)'
    >>> auto_precision().precision  # 'bfloat16' on a CPU with AVX512-BF16 or AMX-BF16, else 'float32'

No TensorFlow import: the CLI can describe the machine before TensorFlow loads.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import NamedTuple

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
# Where a training run crops and augments its batches (repose_tf.train.in_step).
AUGMENT_PLACES = ("auto", "pipeline", "step")
# CPU flags (as /proc/cpuinfo spells them) that give bfloat16 matrix arithmetic to oneDNN.
BF16_FLAGS = ("amx_bf16", "avx512_bf16")


class PrecisionChoice(NamedTuple):
    """A compute precision and the reason it was chosen (printed by training runs and benchmarks)."""

    precision: str
    reason: str


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    path = Path("/proc/cpuinfo")
    if not path.is_file():
        return {}
    fields: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        fields[key.strip()] = value.strip()
    return fields


def cpu_flags() -> frozenset[str]:
    """The CPU's feature flags (empty where /proc/cpuinfo is missing)."""
    return frozenset(_cpuinfo().get("flags", "").split())


def cpu_name() -> str:
    """The CPU's model name, its core count and its wide-vector features, for benchmark reports."""
    info = _cpuinfo()
    name = info.get("model name") or platform.processor() or platform.machine()
    flags = cpu_flags()
    features = [label for flag, label in (("avx512f", "AVX-512"), ("avx512_bf16", "AVX512-BF16"),
                                          ("amx_bf16", "AMX-BF16"), ("amx_int8", "AMX-INT8"))
                if flag in flags]
    if not features and "avx2" in flags:
        features = ["AVX2"]
    detail = "; ".join(filter(None, [f"{os.cpu_count()} cores", ", ".join(features)]))
    return f"{name} ({detail})"


def bf16_flags() -> list[str]:
    """The CPU's bfloat16 matrix-instruction flags (of :data:`BF16_FLAGS`), sorted; empty if it has none."""
    flags = cpu_flags()
    return sorted(f for f in BF16_FLAGS if f in flags)


def has_bf16() -> bool:
    """Whether the CPU has bfloat16 matrix instructions (AVX512-BF16 or AMX-BF16)."""
    return bool(bf16_flags())


def auto_precision(gpu: bool = False, tpu: bool = False) -> PrecisionChoice:
    """The precision ``--precision auto`` picks: float16 on a GPU, bfloat16 on a TPU or on a CPU with
    bfloat16 instructions, float32 otherwise.  ``python benchmarks/precision.py``
    measures training speed in each precision.
    """
    if tpu:
        return PrecisionChoice("bfloat16", "a TPU computes in bfloat16")
    if gpu:
        return PrecisionChoice("float16", "a GPU computes fastest in float16")
    flags = bf16_flags()
    if flags:
        return PrecisionChoice("bfloat16", f"the CPU has {' and '.join(flags)}")
    return PrecisionChoice("float32", "the CPU has no bfloat16 instructions (neither AMX-BF16 nor AVX512-BF16)")
