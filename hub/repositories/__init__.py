"""SQL only: functions that take a connection, never commit."""
