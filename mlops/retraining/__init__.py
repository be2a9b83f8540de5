"""Retraining that closes the loop: a trigger (drift, falling accuracy) plus enough new labels gives a challenger."""
