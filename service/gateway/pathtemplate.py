"""google.api.http path templates: parsed once into a regex, matched against raw paths, expanded back."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

_SINGLE = "[^/]+"
_MULTI = ".+"


class TemplateError(ValueError):
    """A google.api.http path template does not follow the grammar of google/api/http.proto."""


@dataclass(frozen=True)
class Variable:
    field_path: str  # dotted proto field names, e.g. "customer.id"
    multi_segment: bool  # bound to more than one segment: slashes in its value stay

    @property
    def name(self) -> str:
        """The parameter name in OpenAPI paths. Dots would read as attribute access in tools' URI templates."""
        return self.field_path.replace(".", "_")


@dataclass(frozen=True)
class PathTemplate:
    source: str
    variables: tuple[Variable, ...]
    verb: str
    openapi_path: str  # "/v1/customers/{customer_id}", the form OpenAPI paths use
    _regex: re.Pattern[str]

    def match(self, raw_path: str) -> dict[str, str] | None:
        """Field path → percent-decoded value, or None when the path does not fit the template."""
        found = self._regex.fullmatch(raw_path)
        if found is None:
            return None
        return {v.field_path: _decode(found.group(i + 1), v.multi_segment) for i, v in enumerate(self.variables)}

    def expand(self, values: Mapping[str, str]) -> str:
        """The path with each variable replaced by its percent-encoded value."""
        path = self.openapi_path
        for v in self.variables:
            path = path.replace("{" + v.name + "}", quote(values[v.field_path], safe="/" if v.multi_segment else ""))
        return path


def parse(template: str) -> PathTemplate:
    if not template.startswith("/"):
        raise TemplateError(f"{template!r} must start with /")
    segments_part, verb = _split_verb(template)
    pattern: list[str] = []
    shown: list[str] = []
    variables: list[Variable] = []
    for segment in _segments(segments_part[1:]):
        if segment.startswith("{"):
            if not segment.endswith("}"):
                raise TemplateError(f"unclosed variable in {template!r}")
            field_path, _, sub = segment[1:-1].partition("=")
            sub_segments = sub.split("/") if sub else ["*"]
            multi = len(sub_segments) > 1 or "**" in sub_segments
            pattern.append("(" + "/".join(_segment_regex(s, template) for s in sub_segments) + ")")
            variables.append(Variable(field_path, multi))
            shown.append("{" + variables[-1].name + "}")
        else:
            pattern.append(_segment_regex(segment, template))
            shown.append(segment)
    suffix = ":" + verb if verb else ""
    regex = re.compile("/" + "/".join(pattern) + re.escape(suffix))
    return PathTemplate(template, tuple(variables), verb, "/" + "/".join(shown) + suffix, regex)


def _split_verb(template: str) -> tuple[str, str]:
    # The verb is a ":" after the last segment; variables (inside braces) cannot hold one.
    colon = template.rfind(":")
    if colon > max(template.rfind("/"), template.rfind("}")):
        return template[:colon], template[colon + 1 :]
    return template, ""


def _segments(path: str) -> list[str]:
    segments, depth, start = [], 0, 0
    for i, char in enumerate(path):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "/" and depth == 0:
            segments.append(path[start:i])
            start = i + 1
    segments.append(path[start:])
    return segments


def _segment_regex(segment: str, template: str) -> str:
    if segment == "*":
        return _SINGLE
    if segment == "**":
        return _MULTI
    if not segment or any(c in segment for c in "{}*"):
        raise TemplateError(f"bad segment {segment!r} in {template!r}")
    return re.escape(segment)


def _decode(value: str, multi_segment: bool) -> str:
    # http.proto: a multi-segment value keeps its encoded slashes ("%2F") as they came.
    if multi_segment:
        return "%2F".join(unquote(part) for part in re.split("%2[Ff]", value))
    return unquote(value)
