"""MLflow integration for the entry points (estimators never import MLflow)."""
