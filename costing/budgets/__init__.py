"""Budgets, forecasts against them, anomalies and the alerts both raise (docs/budgets.md)."""
