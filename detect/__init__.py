"""detect: airbase activity from satellite imagery."""

import cv2

__version__ = "0.1.0"

# OpenCV's warps come out a little different with its threads on (a few pixels by 1e-5 grey
# levels, which moved objects by up to 0.4 mm), and Ultralytics turns them off when it is
# imported. Off from the start, a day's figures do not depend on whether the detector was
# loaded before.
cv2.setNumThreads(0)
