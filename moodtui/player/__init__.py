"""The player's core, no Textual: sound output, what plays next, mood radio, the session."""
