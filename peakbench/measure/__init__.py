"""The measurement: journals, freshness, outages, complaints, the gate, the summary, results.
May import ``plan``, ``config``, ``adapters``; never ``run``, ``report``, ``advise`` or the CLI."""
