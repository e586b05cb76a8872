"""The run machinery: orchestrator, children, watch, load generation, targets, candidates.
May import ``plan``, ``measure``, ``report``, ``config``, ``adapters``; never the CLI."""
