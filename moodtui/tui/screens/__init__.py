"""Modal screens: help, errors, label next, models, queue, radio, mood changes; the opener that opens them."""
