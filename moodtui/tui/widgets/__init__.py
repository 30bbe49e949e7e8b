"""The player's widgets: the virtual track list, the now-playing panel, the status bar, the library bar, the text filter."""
