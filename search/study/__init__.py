"""The study file: what a person writes, validated into frozen models, and its search space."""
