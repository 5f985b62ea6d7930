"""detect: airbase activity from satellite imagery."""

__version__ = "0.1.0"
