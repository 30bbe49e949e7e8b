"""Modal screens: help, errors, label next, models."""
