"""Generated drift windows: 47 foods with Zipf-like shares, a Beta confidence and a Normal brightness.

The same windows serve the small-sample tests and ``bench/drift_small_samples.py``. A window
may be shifted by foods the baseline never saw: ``new_food_share`` of the window goes to
``NEW_FOODS`` in equal parts, the rest keeps the baseline's shares.
"""

import numpy as np

from mlops.drift import WindowSample

FOODS = [f"food{i:02d}" for i in range(47)]
ZIPF_SHARES = (1 / np.arange(1, len(FOODS) + 1)) / (1 / np.arange(1, len(FOODS) + 1)).sum()
NEW_FOODS = ["new_food_a", "new_food_b", "new_food_c"]
# Each new food then takes 8 % of the window: only the two most common baseline foods
# (17 % and 8.6 % of the shifted window) are more common.
DOMINANT_NEW_FOOD_SHARE = 0.24


def food_shares(new_food_share: float = 0.0) -> dict[str, float]:
    shares = dict(zip(FOODS, ZIPF_SHARES * (1.0 - new_food_share), strict=True))
    shares.update({food: new_food_share / len(NEW_FOODS) for food in NEW_FOODS})
    return shares


def generated_window(rng: np.random.Generator, n: int, *, new_food_share: float = 0.0) -> WindowSample:
    """One window of n predictions; no embeddings were recorded in it."""
    shares = food_shares(new_food_share)
    names = list(shares)
    drawn = rng.choice(len(names), size=n, p=np.array(list(shares.values())))
    counts = {names[i]: int(c) for i, c in enumerate(np.bincount(drawn, minlength=len(names))) if c}
    numeric = {"confidence": rng.beta(8.0, 2.0, size=n), "brightness": rng.normal(0.5, 0.15, size=n)}
    return WindowSample(food_counts=counts, numeric=numeric, embeddings=np.zeros((0, 0)))


def window_pair(seed: int, n: int, *, new_food_share: float = 0.0) -> tuple[WindowSample, WindowSample]:
    """A baseline and a recent window of n predictions each, the recent one shifted by ``new_food_share``."""
    rng = np.random.default_rng([seed, n])
    return generated_window(rng, n), generated_window(rng, n, new_food_share=new_food_share)
