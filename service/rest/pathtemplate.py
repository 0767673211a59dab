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
    name: str  # the parameter name in OpenAPI paths, see _name


def _name(field_path: str, collection: str | None) -> str:
    """A variable after a collection segment (AIP-122: `customers`) is named for the resource, so that
    one resource's id has one name in every operation: Get's `{id}` and Update's `{customer.id}`
    are both `customer_id`. Otherwise the field path, without dots, which tools' URI templates would
    read as attribute access."""
    if collection and collection.endswith("s") and collection.isalnum():
        return f"{singular(collection)}_id"
    return field_path.replace(".", "_")


def singular(collection: str) -> str:
    """customers → customer, shelves → shelf, categories → category: enough English for collection ids."""
    for plural, one in (("ies", "y"), ("ves", "f"), ("sses", "ss"), ("ches", "ch"), ("shes", "sh"), ("xes", "x"), ("s", "")):
        if collection.endswith(plural):
            return collection[: -len(plural)] + one
    return collection


def collection(template: str) -> str | None:
    """The first collection a template names after its version: `/v1/orders/{id}:cancel` → `orders`,
    `/v1/{name=shelves/*}` → `shelves`."""
    parts = template.lstrip("/").split("/")
    if len(parts) < 2:
        return None
    first = parts[1].split(":")[0]
    if first.startswith("{"):
        first = first.partition("=")[2]
    return first if first.isalnum() else None


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
    shown: list[str | int] = []  # literal segments, and the index of each variable
    found: list[tuple[str, bool, str | None]] = []  # field path, multi-segment, the collection before it
    for segment in _segments(segments_part[1:]):
        if segment.startswith("{"):
            if not segment.endswith("}"):
                raise TemplateError(f"unclosed variable in {template!r}")
            field_path, _, sub = segment[1:-1].partition("=")
            sub_segments = sub.split("/") if sub else ["*"]
            multi = len(sub_segments) > 1 or "**" in sub_segments
            pattern.append("(" + "/".join(_segment_regex(s, template) for s in sub_segments) + ")")
            previous = shown[-1] if shown else None
            found.append((field_path, multi, previous if isinstance(previous, str) else None))
            shown.append(len(found) - 1)
        else:
            pattern.append(_segment_regex(segment, template))
            shown.append(segment)
    names = [_name(path, collection) for path, _, collection in found]
    if len(set(names)) < len(names):  # two variables after one collection name: keep the field names
        names = [_name(path, None) for path, _, _ in found]
    variables = tuple(Variable(path, multi, name) for (path, multi, _), name in zip(found, names, strict=True))
    suffix = ":" + verb if verb else ""
    regex = re.compile("/" + "/".join(pattern) + re.escape(suffix))
    rendered = ["{" + variables[s].name + "}" if isinstance(s, int) else s for s in shown]
    return PathTemplate(template, variables, verb, "/" + "/".join(rendered) + suffix, regex)


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
