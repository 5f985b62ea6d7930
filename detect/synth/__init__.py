"""Synthetic airbase series: a textured base, aircraft at true scale, daily drops with truth."""
