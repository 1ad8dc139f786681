"""CPU facts from /proc/cpuinfo and the precision ``auto`` picks from them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from repose_tf import hardware

CPUINFO = """processor\t: 0
vendor_id\t: {vendor}
model name\t: {name}
flags\t\t: fpu sse2 avx2 {flags}

processor\t: 1
model name\t: a second core that is not read
"""


@pytest.fixture
def cpu(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Point the module at a fake /proc/cpuinfo with the given name and extra flags."""
    def make(name: str, flags: str = "", vendor: str = "GenuineIntel") -> None:
        info = tmp_path / "cpuinfo"
        info.write_text(CPUINFO.format(vendor=vendor, name=name, flags=flags))
        real = Path

        monkeypatch.setattr(hardware, "Path", lambda p: info if p == "/proc/cpuinfo" else real(p))
    return make


def test_avx2_cpu_trains_in_float32(cpu):
    cpu("AMD EPYC 7B13", vendor="AuthenticAMD")
    assert hardware.cpu_flags() >= {"avx2", "sse2"}
    assert not hardware.has_bf16()
    assert hardware.cpu_name().startswith("AMD EPYC 7B13 (") and "AVX2" in hardware.cpu_name()
    choice = hardware.auto_precision()
    assert choice.precision == "float32" and "no bfloat16 instructions" in choice.reason


@pytest.mark.parametrize("flags, named", [("avx512f avx512_bf16", "avx512_bf16"),
                                          ("avx512f avx512_bf16 amx_bf16 amx_int8", "amx_bf16 and avx512_bf16")])
def test_bf16_cpu_trains_in_bfloat16(cpu, flags: str, named: str):
    cpu("Intel(R) Xeon(R) Platinum 8481C", flags)
    assert hardware.has_bf16()
    assert hardware.auto_precision() == hardware.PrecisionChoice("bfloat16", f"the CPU has {named}")
    assert "AVX512-BF16" in hardware.cpu_name() and "AVX2" not in hardware.cpu_name()


def test_accelerators_come_first(cpu):
    cpu("AMD EPYC", "avx512_bf16")
    assert hardware.auto_precision(gpu=True).precision == "float16"
    assert hardware.auto_precision(tpu=True).precision == "bfloat16"


def test_no_cpuinfo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setattr(hardware, "Path", lambda p: tmp_path / "missing")
    assert hardware.cpu_flags() == frozenset() and hardware.auto_precision().precision == "float32"
    assert hardware.cpu_name()  # the platform's name stands in


def test_this_machine_is_named():
    assert f"{os.cpu_count()} cores" in hardware.cpu_name()
