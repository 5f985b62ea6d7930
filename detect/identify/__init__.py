"""Aircraft type identification from measured size and shape."""
