"""Writes of the mlops app."""
