"""The FastAPI hub: equipment, duty, dispatch and cases (built on the telemetry backbone)."""
