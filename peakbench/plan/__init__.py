"""The peak plan: clock, curves, arrivals, views, probe schedule, the parcels' true timelines.
May import ``config`` and ``durations``; never ``run``, ``measure``, ``report`` or the CLI."""
