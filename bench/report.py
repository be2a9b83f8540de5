"""The results folder: one Markdown table (results.md) and the same figures as JSON (results.json)."""

from __future__ import annotations

import json
from pathlib import Path

from bench.figures import Figure


def _amount(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "s" and value < 1:
        return f"{value * 1000:.1f} ms"
    text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"
    return f"{text}×" if unit == "×" else f"{text} {unit}".rstrip()


def _ratio(figure: Figure) -> str:
    if figure.ratio is None:
        return "—"
    return f"{figure.ratio:.2f}× [{figure.ratio_min:.2f}–{figure.ratio_max:.2f}]"


def _verdict(figure: Figure) -> str:
    if not figure.measured:
        return figure.note
    return {True: "pass", False: "FAIL", None: "—"}[figure.passed]


def table_rows(figures: list[Figure]) -> list[list[str]]:
    rows = []
    for figure in figures:
        baseline = figure.baseline_name
        if figure.baseline is not None:
            baseline = f"{baseline}: {_amount(figure.baseline, figure.unit)}"
        name = f"{figure.name} ({figure.note})" if figure.note and figure.measured else figure.name
        value = f"{_amount(figure.value, figure.unit)}" + (f" (n={figure.repeats})" if figure.repeats > 1 else "")
        rows.append([name, value if figure.measured else "—", baseline or "—", _ratio(figure), figure.target_text or "—",
                     _verdict(figure)])  # fmt: skip
    return rows


def markdown(header: dict, figures: list[Figure], *, mode: str, plots: list[str]) -> str:
    """The results as a Markdown document: the machine first, then one table, then the plots."""
    versions = ", ".join(f"{name} {version}" for name, version in header["versions"].items())
    load_before = " / ".join(f"{value:.2f}" for value in header["load_average_before"])
    load_after = " / ".join(f"{value:.2f}" for value in header.get("load_average_after", []))
    lines = [
        f"# NutriLearn benchmarks ({mode})",
        "",
        f"- date: {header['date']}, commit {header['commit']}, {header['wall_seconds']:.0f} s",
        f"- machine: {header['cores']} cores, {header['cpu_model']}, {header['platform']}",
        f"- load average (1 / 5 / 15 min): before {load_before}, after {load_after}"
        " (the machine is shared: other work makes absolute figures noisy; ratios are to baselines measured in the same run)",
        f"- versions: {versions}",
        "",
        "| figure | value | baseline or peer | ratio median [min–max] | target | verdict |",
        "|---|---:|---|---:|---|---|",
    ]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in table_rows(figures)]
    lines += [""] + [f"![{Path(plot).stem}]({plot})" for plot in plots]
    return "\n".join(lines) + "\n"


def write_results(out: Path, header: dict, figures: list[Figure], *, mode: str, plots: list[str]) -> None:
    """results.md and results.json in ``out`` (written again after each family, so a stopped run keeps what it measured)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.md").write_text(markdown(header, figures, mode=mode, plots=plots))
    document = {"mode": mode, "header": header, "figures": [figure.as_dict() for figure in figures], "plots": plots}
    (out / "results.json").write_text(json.dumps(document, indent=1))
