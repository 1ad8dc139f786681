"""Hidden temporary folders that name their process, so that a later run removes what a killed one left.

Writers that publish atomically (converters, exports) build their output in ``<prefix>.<pid>.<random>.tmp``
beside it and rename it into place.  A run killed with ``kill -9`` cannot clean up; the next run that makes
a folder with the same prefix in the same place removes those whose process is gone, and nothing else (a
live process's folder, another prefix, anything not named this way).

    tmp = owned_temp_dir(out, ".lspet-train")      # out/.lspet-train.4711.k2j3h4.tmp
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_orphans(parent: Path, prefix: str) -> list[Path]:
    """Remove ``parent/<prefix>.<pid>.*.tmp`` folders whose process no longer runs; return them."""
    removed = []
    for path in parent.glob(f"{prefix}.*.tmp"):
        pid = path.name[len(prefix) + 1:].split(".", 1)[0]
        if path.is_dir() and pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def owned_temp_dir(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/<prefix>.<this pid>.<random>.tmp``, after :func:`remove_orphans`."""
    remove_orphans(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}.{os.getpid()}.", suffix=".tmp", dir=parent))
