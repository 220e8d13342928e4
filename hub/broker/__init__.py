"""The hub's side of the broker: dynamic-security control and device provisioning."""
