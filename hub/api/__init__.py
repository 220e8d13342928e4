"""The hub's HTTP API (FastAPI): ``/api/v1/...``, problem+json errors, OAuth2 password login."""
