"""``python -m repose_tf.cli ...``: the ``repose`` command, for environments without the console script."""

import sys

from repose_tf.cli import main

sys.exit(main())
