"""A chart's place on a page: its figure as JSON for Plotly, or the sentence that says what is missing."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class FigureSlot:
    name: str
    figure: dict | None  # Plotly's JSON (data, layout); None: show ``empty`` instead
    empty: str
    wide: bool = False

    @property
    def script_id(self) -> str:
        return f"figure-{self.name}"


def figure_slot(name: str, figure, empty: str, *, wide: bool = False) -> FigureSlot:
    """``figure`` is a plotly Figure or None (nothing to draw)."""
    return FigureSlot(name=name, figure=None if figure is None else json.loads(figure.to_json()), empty=empty, wide=wide)
