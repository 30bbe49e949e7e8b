"""The listener's side: labels, file identity, the label writer, label-next, and the personal retrain (its runner and progress events)."""
