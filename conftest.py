"""Root pytest configuration: how nbval compares the example notebooks."""

from __future__ import annotations


def pytest_collectstart(collector) -> None:
    """Compare notebooks on text only: widget ids, HTML tables and charts vary by run."""
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += (
            "text/html",
            "image/png",
            "application/vnd.jupyter.widget-view+json",
            "application/javascript",
        )
