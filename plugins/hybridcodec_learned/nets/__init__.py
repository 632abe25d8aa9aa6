"""The torch networks of the learned stages (and the exact integer network that picks the
``learned`` stage's tables); imported when a stage first runs one, or by training."""
