"""Swagger UI at /docs, fully offline: the page and every asset come from this process.

The assets are Swagger UI 5 (it renders OpenAPI 3.1; the 4.x of swagger-ui-bundle cannot), taken from the
static folder of the swagger-ui-py package, which is pinned in pyproject.toml.
"""

from __future__ import annotations

from importlib import resources

from service.rest.openapi import JSON_PATH

PAGE_PATH = "/docs"
_ASSETS = {
    "swagger-ui.css": b"text/css; charset=utf-8",
    "swagger-ui-bundle.js": b"text/javascript; charset=utf-8",
    "favicon-32x32.png": b"image/png",
}

# persistAuthorization keeps the bearer token across reloads; the Idempotency-Key header is a
# parameter of every mutating operation, so "Try it out" shows a box for it.
_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>ERP Orders API</title>
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({
      url: "%(spec)s",
      dom_id: "#swagger-ui",
      deepLinking: true,
      persistAuthorization: true,
      displayRequestDuration: true,
      presets: [SwaggerUIBundle.presets.apis],
      layout: "BaseLayout"
    });
  </script>
</body>
</html>
"""


def documents() -> dict[str, tuple[bytes, bytes]]:
    """The page and its assets: path → (content type, body)."""
    static = resources.files("swagger_ui").joinpath("static")
    served = {f"{PAGE_PATH}/{name}": (kind, static.joinpath(name).read_bytes()) for name, kind in _ASSETS.items()}
    served[PAGE_PATH] = (b"text/html; charset=utf-8", (_PAGE % {"spec": JSON_PATH}).encode())
    return served
