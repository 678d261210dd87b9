"""Airbyte's public API (``/api/public/v1``) over airpipe's own services: each function here
translates the public shape to a Configuration API request, calls the service that owns the
rule, and translates the answer back. No rule of its own lives here."""
