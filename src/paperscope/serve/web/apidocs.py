"""`/docs`: the API reference as a server-rendered page, built from `app.openapi()`.

FastAPI's Swagger UI would load its scripts and styles from a CDN, which the CSP (and the
no-third-party-requests rule) forbids; this page shows the same schema as plain HTML: each
route's method, path, summary, parameters with types and limits, response shapes and errors.
`/openapi.json` stays for tools.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from paperscope.serve.web.site import site_of

router = APIRouter()

_METHODS = ("get", "post", "put", "patch", "delete")
#: Tag order on the page; other tags follow alphabetically.
_TAG_ORDER = ("search", "papers", "authors", "feed", "categories", "feeds and exports")


@dataclass
class Param:
    name: str
    where: str
    required: bool
    type: str
    limits: str
    description: str


@dataclass
class Operation:
    method: str
    path: str
    summary: str
    description: str
    params: list[Param]
    responses: list[tuple[str, str, str]]  # status, description, shape
    anchor: str


@dataclass
class Section:
    tag: str
    operations: list[Operation] = field(default_factory=list)


def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def type_of(schema: dict[str, Any]) -> str:
    """A short human type: "integer", "list of string", "SearchHit", "string or null"."""
    if not schema:
        return "any"
    if "$ref" in schema:
        return _ref_name(schema["$ref"])
    if "enum" in schema:
        return " | ".join(repr(v) for v in schema["enum"])
    if "const" in schema:
        return repr(schema["const"])
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            kinds = [type_of(s) for s in schema[key]]
            nullable = "null" in kinds
            kinds = [k for k in kinds if k != "null"]
            text = " or ".join(kinds)
            return f"{text} (optional)" if nullable else text
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {type_of(schema.get('items', {}))}"
    if kind == "object" and "additionalProperties" in schema:
        return f"map of string to {type_of(schema['additionalProperties'])}"
    if schema.get("format"):
        return f"{kind} ({schema['format']})"
    return str(kind)


def limits_of(schema: dict[str, Any]) -> str:
    """Bounds a parameter declares: min/max, lengths, default."""
    parts = []
    schemas = [schema, *schema.get("anyOf", [])]
    for s in schemas:
        for key, label in (
            ("minimum", "≥"),
            ("exclusiveMinimum", ">"),
            ("maximum", "≤"),
            ("exclusiveMaximum", "<"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
        ):
            if key in s:
                parts.append(f"{label} {s[key]}")
    if "default" in schema and schema["default"] not in (None, []):
        parts.append(f"default {schema['default']!r}")
    return ", ".join(parts)


def _shape(content: dict[str, Any]) -> str:
    if not content:
        return ""
    media, body = next(iter(content.items()))
    schema = body.get("schema", {})
    return f"{media}: {type_of(schema)}" if schema else media


def operations(spec: dict[str, Any]) -> list[Section]:
    """The spec's operations grouped by tag, in a stable reading order."""
    sections: dict[str, Section] = {}
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            op = item.get(method)
            if op is None:
                continue
            params = [
                Param(
                    p["name"],
                    p.get("in", ""),
                    bool(p.get("required")),
                    type_of(p.get("schema", {})),
                    limits_of(p.get("schema", {})),
                    p.get("description") or p.get("schema", {}).get("description", ""),
                )
                for p in op.get("parameters", [])
            ]
            responses = [
                (code, r.get("description", ""), _shape(r.get("content", {})))
                for code, r in sorted(op.get("responses", {}).items())
            ]
            tag = (op.get("tags") or ["other"])[0]
            anchor = f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", "")
            anchor = anchor.replace(":", "-").replace(".", "-").strip("-")
            sections.setdefault(tag, Section(tag)).operations.append(
                Operation(
                    method.upper(),
                    path,
                    op.get("summary", ""),
                    op.get("description", ""),
                    params,
                    responses,
                    anchor,
                )
            )
    order = {t: i for i, t in enumerate(_TAG_ORDER)}
    return sorted(sections.values(), key=lambda s: (order.get(s.tag, len(order)), s.tag))


def schemas(spec: dict[str, Any]) -> list[tuple[str, str, list[tuple[str, str, bool, str]]]]:
    """Component schemas: name, description, fields (name, type, required, description)."""
    out = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        if name in ("HTTPValidationError", "ValidationError"):
            continue  # app.py answers validation errors as ApiError, not in FastAPI's shape
        required = set(schema.get("required", []))
        fields = [
            (key, type_of(prop), key in required, prop.get("description", ""))
            for key, prop in schema.get("properties", {}).items()
        ]
        out.append((name, schema.get("description", ""), fields))
    return out


@router.get("/docs", response_class=HTMLResponse, include_in_schema=False)
async def docs(request: Request) -> HTMLResponse:
    spec = request.app.openapi()
    site = site_of(request)
    return site.render(
        request,
        "apidocs.html",
        {
            "spec": spec,
            "sections": operations(spec),
            "schemas": schemas(spec),
            "limits": site.settings,
        },
    )
