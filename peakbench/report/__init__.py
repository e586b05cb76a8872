"""Renderers of a run's summary: data in, renderables out."""
