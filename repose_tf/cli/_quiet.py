"""TensorFlow's C++ log lines kept off the command's output (``--verbose`` brings them back).

TensorFlow writes its start-up lines (absl's "All log messages before absl::InitializeLog() is
called ...", oneDNN's notice, the CPU feature guard) straight to file descriptor 2 while it is
imported, before any log level applies; later its INFO and WARNING lines (record readers, XLA,
rendezvous aborts above a real error) follow ``TF_CPP_MIN_LOG_LEVEL``.  The command shows its
own messages and progress; C++ errors still print.
"""

from __future__ import annotations

import os
import sys

QUIET_LEVEL = "2"  # TF_CPP_MIN_LOG_LEVEL: 0 all, 1 no INFO, 2 no WARNING, 3 no ERROR


def quiet_tensorflow() -> None:
    """Import TensorFlow with file descriptor 2 pointed at /dev/null, and hide its later INFO and
    WARNING lines (unless ``TF_CPP_MIN_LOG_LEVEL`` is set already).  No-op once it is imported."""
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", QUIET_LEVEL)
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        import tensorflow  # noqa: F401  (imported for its side effect: the start-up lines go nowhere)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)
