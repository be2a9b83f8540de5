"""Drift statistics over arrays: a baseline window against a recent window.

Pure NumPy/SciPy, no Django. Each test returns a ``DriftTestResult`` (``categorical``,
``numeric``, ``embedding``); ``analysis`` groups the tests into checks (one per monitored
quantity) and the checks into a ``DriftAnalysis``.

The verdict rules, chosen so that noise does not raise alarms:

- A check says ``drift`` only when its hypothesis test is significant *and* its effect
  size is above a distance threshold. Significance alone flags trivial shifts once the
  windows hold many thousands of rows; distance alone flags noise in small windows.
  Embeddings have no calibrated distance, so the embedding check rests on the MMD
  permutation test, whose power is bounded by the sample it draws (``mmd_sample_size``).
- The significance level ``alpha`` is for the whole report: every check that has data is
  tested at ``alpha / number_of_checks_with_data`` (Bonferroni), so a report over unchanged
  data says ``drift`` with probability at most ``alpha`` however many checks it runs. Which
  checks have data is settled before any test runs, so the divisor never depends on a result.
- A test with fewer than ``min_samples`` values in either window says
  ``insufficient_data``, never ``drift``; so does a check with any such test. A numeric
  quantity present in one window only is such a check, and the analysis lists it as untested.
- Figures that are reported for reference (PSI) decide nothing: their verdict is
  ``reported_only``.
- The overall verdict is ``drift`` when any check says drift, ``insufficient_data``
  when no check had enough data, otherwise ``no_drift``.

The food distribution is tested on the full table of categories, none pooled away, so a
food the baseline never saw keeps its own column: a Pearson chi-square statistic whose
p-value comes from random relabellings of the pooled predictions (a Monte Carlo
permutation test, exact at any sample size, ``food_permutations`` draws).

``drift_score`` is the Jensen-Shannon distance (base 2, in [0, 1]) between the food
distributions of the two windows, corrected for chance: the plug-in distance of two
small samples is large even when nothing changed (about 0.42 for 100 predictions per
window over 47 foods), so the score is ``sqrt(max(0, JSD - E0[JSD]))`` where JSD is the
observed Jensen-Shannon divergence and E0[JSD] its mean over the same relabellings. The
score is about 0 on unchanged windows of any size and estimates the distance between
the underlying distributions when they differ; it is compared with the seed's threshold
(0.15 by default). The plug-in distance and the score's chance level (the value unchanged
windows of these sizes exceed one time in twenty) are reported beside it.
"""

from .analysis import drift_analyse, embedding_check, food_distribution_check, numeric_check
from .categorical import CountTable, chi_square_test, count_table, jensen_shannon_test, population_stability_index, quantile_bin_counts
from .embedding import median_heuristic_bandwidth, mmd_statistic, mmd_test, rbf_kernel
from .numeric import ks_test, wasserstein_test
from .results import (
    DRIFT,
    INSUFFICIENT_DATA,
    NO_DRIFT,
    REPORTED_ONLY,
    DriftAnalysis,
    DriftCheck,
    DriftConfig,
    DriftTestResult,
    UntestedCheck,
    WindowSample,
)

__all__ = [
    "CountTable",
    "DRIFT",
    "DriftAnalysis",
    "DriftCheck",
    "DriftConfig",
    "DriftTestResult",
    "INSUFFICIENT_DATA",
    "NO_DRIFT",
    "REPORTED_ONLY",
    "UntestedCheck",
    "WindowSample",
    "chi_square_test",
    "count_table",
    "drift_analyse",
    "embedding_check",
    "food_distribution_check",
    "jensen_shannon_test",
    "ks_test",
    "median_heuristic_bandwidth",
    "mmd_statistic",
    "mmd_test",
    "numeric_check",
    "population_stability_index",
    "quantile_bin_counts",
    "rbf_kernel",
    "wasserstein_test",
]
