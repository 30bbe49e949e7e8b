"""moodtui: a terminal music player that learns how you feel about your music."""

__version__ = "0.1.0"

# Class order is part of the model contract (written in every model's metadata).
CLASSES = ("positive", "neutral", "negative")
