"""Oriented-box aircraft detector: offline Ultralytics set-up, sliced inference, training, eval."""
