"""Serve plotly.min.js from the installed plotly package, so pages never load a CDN."""

from __future__ import annotations

from pathlib import Path

import plotly
from django.contrib.staticfiles.finders import BaseFinder
from django.core.files.storage import FileSystemStorage

PLOTLY_STATIC_PATH = "vendor/plotly/plotly.min.js"


class PlotlyFinder(BaseFinder):
    """Finds exactly one file: vendor/plotly/plotly.min.js, the bundle shipped inside the plotly wheel."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        package_data = Path(plotly.__file__).resolve().parent / "package_data"
        self.source = package_data / "plotly.min.js"
        self.storage = FileSystemStorage(location=str(package_data))
        self.storage.prefix = "vendor/plotly"

    def check(self, **kwargs):
        return []

    def find(self, path, find_all=False, **kwargs):
        if path == PLOTLY_STATIC_PATH and self.source.exists():
            return [str(self.source)] if (find_all or kwargs.get("all")) else str(self.source)
        return []

    def list(self, ignore_patterns):
        if self.source.exists():
            yield self.source.name, self.storage
