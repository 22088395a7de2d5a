"""``python -m dlprimer.cli``: the same as the ``dlprimer`` command."""

import sys

from dlprimer.cli.main import main

sys.exit(main())
