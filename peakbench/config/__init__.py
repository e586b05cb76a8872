"""The profile: YAML validated at the boundary into frozen typed objects."""
