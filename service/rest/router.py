"""Finds the route for a method and raw path: literal paths by dict lookup, templates by regex, else 404 or 405."""

from __future__ import annotations

from collections.abc import Iterable

from google.rpc import code_pb2

from service.rest.http_errors import refuse
from service.rest.routes import Route


class Router:
    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = list(routes)
        self._literal: dict[tuple[str, str], Route] = {}
        self._templated: dict[str, list[Route]] = {}
        for route in self.routes:
            if route.template.variables:
                self._templated.setdefault(route.http_method, []).append(route)
            else:
                self._literal.setdefault((route.http_method, route.template.openapi_path), route)
        for candidates in self._templated.values():
            # Custom methods first, so "/v1/orders/7:cancel" is never read as the id "7:cancel".
            candidates.sort(key=lambda r: not r.template.verb)

    def resolve(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]]:
        """The route and its decoded path variables. Raises GatewayError: 404 for no path, 405 for no method."""
        found = self._find(method, raw_path)
        if found is not None:
            return found
        allowed = self.allowed(raw_path)
        if allowed:
            raise refuse(
                code_pb2.UNIMPLEMENTED, "METHOD_NOT_ALLOWED", f"{method} is not allowed on {raw_path}; use {', '.join(allowed)}",
                http_status=405, headers=[(b"allow", ", ".join(allowed).encode())],
            )
        raise refuse(code_pb2.NOT_FOUND, "ROUTE_NOT_FOUND", f"no route for {method} {raw_path}")

    def allowed(self, raw_path: str) -> list[str]:
        return sorted(m for m in {r.http_method for r in self.routes} if self._find(m, raw_path) is not None)

    def _find(self, method: str, raw_path: str) -> tuple[Route, dict[str, str]] | None:
        literal = self._literal.get((method, raw_path))
        if literal is not None:
            return literal, {}
        for route in self._templated.get(method, ()):
            values = route.template.match(raw_path)
            if values is not None:
                return route, values
        return None
