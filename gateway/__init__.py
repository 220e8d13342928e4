"""MQTT -> TimescaleDB ingest: validate, batch, COPY, commit, then ack (zero-loss contract)."""
