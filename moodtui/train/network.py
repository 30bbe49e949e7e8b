"""The CNN, after the study: five Conv2D + MaxPooling2D blocks, dropout, flatten, dense softmax.

Named outputs reach the ONNX file: ``probs`` (softmax over positive / neutral / negative),
``embedding`` (the penultimate dense layer) and, for bases trained with an energy target,
``energy`` (the sigmoid energy head on the embedding). Personal retraining adapts only the last layer
on embeddings (see job.py), so the embedding of a song is the same under every personal model
built on one base, and cached embeddings stay valid across retrains.

During base training, optional auxiliary regression heads (teacher energy, danceability, ...)
hang off the embedding so it also carries energy and texture; they are dropped before export.
"""

from __future__ import annotations

import keras
from keras import layers

from moodtui import CLASSES
from moodtui.mood.features import INPUT_SHAPE
from moodtui.mood.model import ENERGY_OUTPUT

# Small on purpose: inference over every slice of a song must cost less than decoding it.
CONV_FILTERS = (8, 16, 24, 32, 48)
EMBEDDING_SIZE = 64
HEAD_LAYER = "probs"
EMBEDDING_LAYER = "embedding"
# The auxiliary head trained on the teachers' energy becomes the exported ``energy`` output.
ENERGY_LAYER = "aux_energy"


def build_network(aux_names: tuple[str, ...] = (), dropout: float = 0.3, seed: int = 0) -> keras.Model:
    """The mood CNN; with ``aux_names`` an extra sigmoid regression output per name."""
    keras.utils.set_random_seed(seed)
    mel = keras.Input(shape=INPUT_SHAPE, name="mel")
    x = mel
    for i, filters in enumerate(CONV_FILTERS, start=1):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"conv{i}")(x)
        # momentum 0.9: the moving statistics settle within a few dozen batches (small datasets).
        x = layers.BatchNormalization(momentum=0.9, name=f"bn{i}")(x)
        x = layers.Activation("relu", name=f"relu{i}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(dropout, name="dropout1")(x)
    embedding = layers.Dense(EMBEDDING_SIZE, activation="relu", name=EMBEDDING_LAYER)(x)
    x = layers.Dropout(dropout, name="dropout2")(embedding)
    probs = layers.Dense(len(CLASSES), activation="softmax", name=HEAD_LAYER)(x)
    outputs = {HEAD_LAYER: probs}
    for name in aux_names:
        outputs[f"aux_{name}"] = layers.Dense(1, activation="sigmoid", name=f"aux_{name}")(embedding)
    return keras.Model(mel, outputs, name="moodtui_cnn")


def serving_network(model: keras.Model) -> keras.Model:
    """The model as exported: ``probs``, ``embedding`` and, when the energy head was trained, ``energy``.

    Energy is the second axis the player shows beside the mood (calm .. energetic); it hangs off
    the embedding like the mood head, so the player can recompute it from cached embeddings.
    """
    outputs = {HEAD_LAYER: model.get_layer(HEAD_LAYER).output, EMBEDDING_LAYER: model.get_layer(EMBEDDING_LAYER).output}
    if any(layer.name == ENERGY_LAYER for layer in model.layers):
        outputs[ENERGY_OUTPUT] = model.get_layer(ENERGY_LAYER).output
    return keras.Model(model.input, outputs, name="moodtui_serving")
