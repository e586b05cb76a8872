"""Small composable carrier behaviours (toxiproxy-style): latency, quota, block.

Each is a frozen dataclass of its own parameters (plus bounded per-caller state), registered by
name in :mod:`mocks.behaviours.registry` and run by :mod:`mocks.behaviours.pipeline`.
May import peakbench's config, clock and durations; no other part of ``mocks``.
"""
