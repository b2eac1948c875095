"""Models trained on the features the stream operators build: training, evaluation, calibration."""
