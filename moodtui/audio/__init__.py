"""Audio files: the formats table and the decoder (blocks of mono float32 at 22,050 Hz)."""
