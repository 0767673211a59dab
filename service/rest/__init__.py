"""The REST edge: the gateway (routes from google.api.http, JSON ↔ proto, SSE) and its OpenAPI."""
