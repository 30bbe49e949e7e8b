"""moodtui: a terminal music player that learns how you feel about your music."""

import os

# moodtui makes no network call at all. onnxruntime sends telemetry (DNS lookups of
# mobile.events.data.microsoft.com some seconds after start) unless this is set before it is
# imported; disable_telemetry_events() does not stop it. Every entry point imports this package
# first, so setting it here covers the player, the CLI, the training job and the tests.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"

__version__ = "0.1.0"

# Class order is part of the model contract (written in every model's metadata).
CLASSES = ("positive", "neutral", "negative")
