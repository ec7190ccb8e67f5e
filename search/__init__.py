"""The search service: study files, Ray Tune + Optuna wiring, refit, results and the CLI."""
