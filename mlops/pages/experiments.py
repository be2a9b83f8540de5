"""The A/B test panel of the Models page: the running experiment (else the one stopped last) with its results per arm."""

from __future__ import annotations

from ..experiments.selectors import experiment_results, experiment_shown


def experiment_panel() -> dict | None:
    """The experiment to show and its results, with the rows of its table per figure; None when there has been none."""
    experiment = experiment_shown()
    if experiment is None:
        return None
    results = experiment_results(experiment=experiment)
    return {"experiment": experiment, "results": results, "champion": results["arms"][0], "challenger": results["arms"][1]}
