"""PNG plots of a run: latency distributions (each figure's repeats beside its baseline's) and cost against rows.

matplotlib is already a project dependency (confusion matrices); the Agg backend needs no display.
"""

from __future__ import annotations

import textwrap
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - the backend must be chosen first

from bench.figures import Figure  # noqa: E402

LATENCY_FAMILIES = ("predict", "shadow", "throughput")


def latency_distributions(figures: list[Figure], path: Path) -> Path | None:
    """Box plots of each latency figure's repeats next to its baseline's, in milliseconds; None when nothing to plot."""
    series = []
    for figure in figures:
        if figure.family in LATENCY_FAMILIES and figure.unit == "s" and len(figure.samples) > 1:
            series.append((figure.name, figure.samples))
            if figure.baseline_samples:
                series.append((f"baseline: {figure.baseline_name}", figure.baseline_samples))
    if not series:
        return None
    unique = list(dict(series).items())  # one box per distinct label (the forward pass is every figure's baseline)
    labels = [textwrap.fill(label, 48) for label, _ in unique]  # long names would leave the boxes no room
    fig, axis = plt.subplots(figsize=(11, 1.0 + 0.5 * sum(label.count("\n") + 1 for label in labels)))
    axis.boxplot([[value * 1000 for value in values] for _, values in unique], vert=False, tick_labels=labels)
    axis.set_xlabel("milliseconds (server side; baselines in the same rounds)")
    axis.set_title("Latency distributions")
    axis.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def cost_against_rows(figures: list[Figure], path: Path) -> Path | None:
    """p95 time of each endpoint and page against the number of predictions (log-log): one row of panels per database,
    endpoints left, pages right."""
    panels: dict[tuple[str, str], list[Figure]] = defaultdict(list)
    for figure in figures:
        if figure.extra.get("cost"):
            panels[figure.extra["database"], figure.extra["kind"]].append(figure)
    if not panels:
        return None
    databases = sorted({database for database, _ in panels})
    kinds = ("endpoints", "pages")
    fig, axes = plt.subplots(len(databases), 2, figsize=(15, 6.5 * len(databases)), squeeze=False)
    colours = plt.get_cmap("tab20").colors
    for row, database in enumerate(databases):
        for column, kind in enumerate(kinds):
            axis = axes[row][column]
            for index, figure in enumerate(panels.get((database, kind), [])):
                cost = sorted((int(rows), seconds) for rows, seconds in figure.extra["cost"].items())
                axis.plot([rows for rows, _ in cost], [seconds * 1000 for _, seconds in cost], marker="o",
                          color=colours[index % len(colours)], linestyle=("-", "--")[index // len(colours) % 2],
                          label=figure.extra["case"])  # fmt: skip
            axis.set_xscale("log")
            axis.set_yscale("log")
            axis.set_xlabel("predictions in the table")
            axis.set_ylabel("p95 server time, ms")
            axis.set_title(f"{kind.capitalize()} against rows ({database})")
            axis.grid(alpha=0.3, which="both")
            axis.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_plots(out: Path, figures: list[Figure]) -> list[str]:
    """The PNGs of this run, as names relative to ``out``."""
    made = [latency_distributions(figures, out / "latency.png"), cost_against_rows(figures, out / "cost_against_rows.png")]
    return [path.name for path in made if path is not None]
