"""The Textual player: ``moodtui.tui.run.run_app`` opens it; everything slow runs in workers."""
