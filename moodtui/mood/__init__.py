"""From audio to mood: the feature function, the ONNX model, analysis and its cache, model versions, the mood palette (colours and glyphs)."""
