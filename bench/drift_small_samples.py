"""How the drift figures read at small samples, on generated windows (no database).

Windows of n = 100, 1,000 and 20,000 predictions: 47 foods with Zipf-like shares, a Beta(8, 2)
confidence and a Normal(0.5, 0.15) brightness (``tests/mlops/drift_windows.py``). Unchanged
pairs (baseline and recent drawn alike) give the drift score a reader sees when nothing
changed and the false-alarm rate; shifted pairs, where three foods the baseline never saw
take 15 %, 24 % or 30 % of the recent window, give the detection rate of the food check.

    .venv/bin/python bench/drift_small_samples.py [--unchanged 50] [--shifted 20] [--sizes 100 1000 20000]
                                                  [--new-food-share 0.15 0.24 0.3]

Prints one row per n: on unchanged pairs the median drift score, raw Jensen-Shannon
distance and chance level, and how many reports say drift (whole report, food check, PSI
test); on shifted pairs how many food checks say drift and the median drift score; and
the time of one analysis.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mlops.drift import DRIFT, DriftConfig, drift_analyse  # noqa: E402
from tests.mlops.drift_windows import DOMINANT_NEW_FOOD_SHARE, window_pair  # noqa: E402


def analyses(seeds: range, n: int, new_food_share: float) -> tuple[list, float]:
    results, started = [], time.perf_counter()
    for seed in seeds:
        baseline, recent = window_pair(seed, n, new_food_share=new_food_share)
        results.append(drift_analyse(baseline=baseline, recent=recent, config=replace(DriftConfig(), seed=seed)))
    return results, (time.perf_counter() - started) / len(seeds)


def share(flags) -> str:
    flags = list(flags)
    return f"{sum(flags)}/{len(flags)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--unchanged", type=int, default=50, help="unchanged window pairs per n")
    parser.add_argument("--shifted", type=int, default=20, help="shifted window pairs per n")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 20000], help="predictions per window")
    parser.add_argument(
        "--new-food-share", type=float, nargs="+", default=[0.15, DOMINANT_NEW_FOOD_SHARE, 0.3],
        help="shares of the recent window taken by the three new foods, one shifted column group each",
    )
    args = parser.parse_args()

    shifted_header = " | ".join(f"{f'new foods {new_share:.0%}':>15}" for new_share in args.new_food_share)
    unchanged_header = f"{'score':>6} {'raw JS':>6} {'chance':>6} | {'alarms':>6} {'food':>6} {'PSI':>6}"
    header = f"{'n':>6} | {unchanged_header} | {shifted_header} | {'ms/report':>9}"
    print(f"unchanged: {args.unchanged} pairs per n; shifted: {args.shifted} pairs per n and share (detected, median score)")
    print(header)
    print("-" * len(header))
    for n in args.sizes:
        unchanged, seconds = analyses(range(args.unchanged), n, 0.0)
        food = [analysis.check("prediction").test("jensen_shannon") for analysis in unchanged]
        shifted_columns = []
        for index, new_share in enumerate(args.new_food_share):
            shifted, _ = analyses(range(10_000 * (index + 1), 10_000 * (index + 1) + args.shifted), n, new_share)
            detected = share(a.check("prediction").verdict == DRIFT for a in shifted)
            shifted_columns.append(f"{detected:>8} {statistics.median(a.drift_score for a in shifted):>6.3f}")
        print(
            f"{n:>6} | {statistics.median(a.drift_score for a in unchanged):>6.3f} "
            f"{statistics.median(test.statistic for test in food):>6.3f} "
            f"{statistics.median(test.details.get('chance_distance', float('nan')) for test in food):>6.3f} | "
            f"{share(a.verdict == DRIFT for a in unchanged):>6} {share(a.check('prediction').verdict == DRIFT for a in unchanged):>6} "
            f"{share(a.check('prediction').test('psi').verdict == DRIFT for a in unchanged):>6} | "
            f"{' | '.join(shifted_columns)} | {seconds * 1000:>9.1f}"
        )


if __name__ == "__main__":
    main()
