"""``python -m moodtui`` (how the player starts the training job: the same interpreter)."""

import sys

from moodtui.cli import main

sys.exit(main())
