"""The profile: YAML validated at the boundary into frozen typed objects; the SLO vocabulary.
May import ``durations`` and the specs ``plan`` defines; never run, measure, report or the CLI."""
