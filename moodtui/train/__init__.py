"""The training job (`moodtui train`). The only part of moodtui that imports TensorFlow.

It always runs in its own process, so the player never pays TensorFlow's import time and memory.
"""
