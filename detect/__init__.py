"""detect: airbase activity from satellite imagery."""

import cv2

__version__ = "0.1.0"

# OpenCV's warps round their coordinates per block of rows, and its blocks follow its thread
# count; Ultralytics turns the threads off when it is imported. Off from the start, a day's
# figures are the same whether or not the detector was loaded before, on any number of cores.
cv2.setNumThreads(0)
