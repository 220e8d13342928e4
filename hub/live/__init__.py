"""The hub's live view of every device: an in-memory index fed incrementally from
``device_latest`` (see ``hub.live.index``), serving the latest-state API, the live map's stream
and dispatch's nearest-unit search without a query per request."""
