"""Entry points: the main job and the CLI helpers (they read configs, call MLflow)."""
