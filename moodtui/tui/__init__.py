"""The Textual player: ``moodtui.tui.app.run_app`` opens it; everything slow runs in workers."""
