"""The benchmark suite: ``python -m bench`` measures every headline figure against a baseline measured in the same run."""
