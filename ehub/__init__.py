"""The ``ehub`` command: demo, gateway, simulator, schema export, benchmarks, dev services."""
