"""Health checks and metrics: /healthz, /readyz, /metrics and the worker heartbeat they read."""
