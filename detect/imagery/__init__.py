"""Imagery stages: ingest onto the base grid, co-register, normalise, change."""
