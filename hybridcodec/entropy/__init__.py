"""Entropy models (code construction) and coders (bit packing), kept apart."""
