"""A registry of tools for the background agent: plain Python functions with type hints.

Each tool is described by its name, the first paragraph of its docstring and a JSON schema
built from its signature, the shape an OpenAI-compatible function-calling request expects:

    registry = ToolRegistry()

    @registry.tool
    def add(a: float, b: float = 1.0) -> float:
        '''Add two numbers.

        Args:
            a: the first number
            b: the second number
        '''
        return a + b

    result = await registry.call("add", {"a": 2})  # ToolResult(status="ok", value=3.0, ...)

Sync tools run in a thread executor and async tools are awaited, both under a per-call timeout.
An exception, a bad argument or a timeout becomes an error `ToolResult`; nothing propagates.
A sync tool that times out keeps running in its worker thread until it returns (Python cannot
kill a thread); its result is discarded.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import re
import time
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_JSON_TYPES: dict[type, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    dict: "object",
    list: "array",
    tuple: "array",
}


@dataclass(frozen=True, slots=True)
class Tool:
    """One callable tool and its description."""

    name: str
    description: str
    fn: Callable[..., Any]
    parameters: dict[str, Any]  # JSON schema of the arguments ({"type": "object", ...})
    timeout: float | None = None  # seconds; None = the registry's default
    is_async: bool = False

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling description of this tool."""
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.parameters,
            },
        }


@dataclass(slots=True)
class ToolResult:
    """What one tool call returned: `status` is "ok", "error" or "timeout"."""

    name: str
    args: dict[str, Any]
    status: str = "ok"
    value: Any = None
    error: str = ""
    elapsed_s: float = 0.0  # wall seconds the call took

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def text(self) -> str:
        """The value (or error message) as text, for a model or the stream."""
        if not self.ok:
            return self.error
        return format_value(self.value)


def format_value(value: Any) -> str:
    """A tool's return value as short text (whole floats without '.0', 10 significant digits)."""
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return f"{value:.10g}"
    return "" if value is None else str(value)


# -- schema from a signature ----------------------------------------------------------------------
def _type_schema(tp: Any) -> tuple[dict[str, Any], bool]:
    """(JSON schema of annotation `tp`, whether None is allowed)."""
    if tp is Any or tp is inspect.Parameter.empty:
        return {}, False
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        nullable = len(rest) < len(args)
        if len(rest) == 1:
            return _type_schema(rest[0])[0], nullable
        return {"anyOf": [_type_schema(a)[0] for a in rest]}, nullable
    if origin is typing.Literal:
        return {"enum": list(args)}, False
    if origin in (list, tuple, set, frozenset):
        item = _type_schema(args[0])[0] if args and args[0] is not Ellipsis else {}
        return ({"type": "array", "items": item} if item else {"type": "array"}), False
    if origin is dict or tp is dict:
        return {"type": "object"}, False
    if isinstance(tp, type) and tp in _JSON_TYPES:
        return {"type": _JSON_TYPES[tp]}, False
    return {}, False  # unknown types are accepted as any JSON value


def _doc_parts(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """(description = first docstring paragraph, {param: description} from an Args: section)."""
    doc = inspect.getdoc(fn) or ""
    description = " ".join(doc.split("\n\n", 1)[0].split())
    params: dict[str, str] = {}
    section = re.search(r"^(?:Args|Arguments|Parameters):\s*\n((?:[ \t]+.*\n?)+)", doc, re.M)
    if section:
        for m in re.finditer(r"^\s+(\w+)(?:\s*\([^)]*\))?\s*:\s*(.+)$", section.group(1), re.M):
            params[m.group(1)] = m.group(2).strip()
    return description, params


def schema_from_signature(fn: Callable[..., Any]) -> dict[str, Any]:
    """The JSON schema ({"type": "object", "properties", "required"}) of `fn`'s arguments."""
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # unresolvable annotations: fall back to "any value"
        hints = {}
    _, param_docs = _doc_parts(fn)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for name, p in sig.parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or name in ("self", "cls"):
            continue
        prop, _ = _type_schema(hints.get(name, p.annotation))
        prop = dict(prop)
        if name in param_docs:
            prop["description"] = param_docs[name]
        if p.default is p.empty:
            required.append(name)
        elif p.default is None or isinstance(p.default, (str, int, float, bool)):
            prop["default"] = p.default
        properties[name] = prop
    return {"type": "object", "properties": properties, "required": required}


def tool(
    fn: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Any:
    """Mark a function as a tool (its name, description or timeout overridden); `@tool` or
    `@tool(timeout=60)`. A `ToolRegistry.register` of the function uses these settings."""

    def mark(f: Callable[..., Any]) -> Callable[..., Any]:
        f.__nbduplex_tool__ = {"name": name, "description": description, "timeout": timeout}
        return f

    return mark(fn) if fn is not None else mark


def make_tool(
    fn: Callable[..., Any],
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
) -> Tool:
    """A `Tool` for `fn`: settings given here win over `@tool(...)` marks, which win over
    the function's own name and docstring."""
    if not callable(fn):
        raise TypeError(f"a tool must be callable, got {fn!r}")
    marks = getattr(fn, "__nbduplex_tool__", {})
    name = name or marks.get("name") or getattr(fn, "__name__", None)
    if not name or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]{0,63}", name):
        raise ValueError(f"tool name must match [A-Za-z_][A-Za-z0-9_-]*, got {name!r}")
    doc_description, _ = _doc_parts(fn)
    description = description or marks.get("description") or doc_description or name
    timeout = timeout if timeout is not None else marks.get("timeout")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"tool timeout must be > 0 seconds, got {timeout!r}")
    target = fn.func if isinstance(fn, functools.partial) else fn
    is_async = inspect.iscoroutinefunction(target) or (
        not inspect.isroutine(target) and inspect.iscoroutinefunction(type(target).__call__)
    )
    return Tool(name, description, fn, schema_from_signature(fn), timeout, is_async)


# -- argument checking ----------------------------------------------------------------------------
def _coerce(value: Any, schema: Mapping[str, Any], name: str) -> Any:
    """`value` checked (and gently converted: "3" -> 3.0 for a number) against `schema`."""
    kind = schema.get("type")
    if "enum" in schema and value not in schema["enum"]:
        raise ValueError(f"argument {name!r} must be one of {schema['enum']}, got {value!r}")
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError(f"argument {name!r} must be a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        try:
            return float(str(value).strip())
        except ValueError:
            raise ValueError(f"argument {name!r} must be a number, got {value!r}") from None
    if kind == "integer":
        if isinstance(value, bool):
            raise ValueError(f"argument {name!r} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        try:
            return int(str(value).strip())
        except ValueError:
            raise ValueError(f"argument {name!r} must be an integer, got {value!r}") from None
    if kind == "string":
        if isinstance(value, (dict, list)):
            raise ValueError(f"argument {name!r} must be a string, got {value!r}")
        return str(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise ValueError(f"argument {name!r} must be true or false, got {value!r}")
    return value


def check_args(t: Tool, args: Mapping[str, Any] | None) -> dict[str, Any]:
    """`args` checked against the tool's schema; raises `ValueError` naming the problem."""
    args = dict(args or {})
    props = t.parameters["properties"]
    unknown = sorted(set(args) - set(props))
    if unknown:
        raise ValueError(f"{t.name}() got unknown argument(s) {unknown}")
    missing = [n for n in t.parameters["required"] if n not in args]
    if missing:
        raise ValueError(f"{t.name}() is missing argument(s) {missing}")
    return {k: (None if v is None else _coerce(v, props[k], k)) for k, v in args.items()}


# -- the registry ---------------------------------------------------------------------------------
@dataclass
class ToolRegistry:
    """Named tools, their schemas, and a safe `call` (errors and timeouts become results)."""

    timeout: float = 10.0  # seconds per call for tools without their own timeout
    _tools: dict[str, Tool] = field(default_factory=dict, repr=False)

    def register(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
    ) -> Tool:
        """Add `fn` as a tool (a later tool with the same name replaces it); returns the Tool."""
        t = make_tool(fn, name=name, description=description, timeout=timeout)
        self._tools[t.name] = t
        return t

    def tool(self, fn: Callable[..., Any] | None = None, **settings: Any) -> Any:
        """Decorator: `@registry.tool` or `@registry.tool(name=..., timeout=...)`."""
        if fn is not None:
            self.register(fn, **settings)
            return fn
        return lambda f: self.tool(f, **settings)

    def unregister(self, name: str) -> None:
        self._tools.pop(name, None)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __getitem__(self, name: str) -> Tool:
        return self._tools[name]

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def schemas(self) -> list[dict[str, Any]]:
        """All tools as OpenAI function-calling descriptions (the request's `tools` list)."""
        return [t.schema() for t in self]

    async def call(
        self, name: str, args: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> ToolResult:
        """Run tool `name` with `args` under a timeout; never raises (except on cancellation).

        The timeout is `timeout`, else the tool's own, else the registry's.
        """
        t0 = time.perf_counter()
        result = ToolResult(name, dict(args or {}))
        t = self._tools.get(name)
        try:
            if t is None:
                raise LookupError(f"no tool named {name!r} (tools: {', '.join(self.names)})")
            kwargs = check_args(t, args)
            limit = timeout if timeout is not None else (t.timeout or self.timeout)
            if t.is_async:
                result.value = await asyncio.wait_for(t.fn(**kwargs), limit)
            else:
                loop = asyncio.get_running_loop()
                job = loop.run_in_executor(None, functools.partial(t.fn, **kwargs))
                result.value = await asyncio.wait_for(job, limit)
        except asyncio.TimeoutError:
            result.status, result.error = "timeout", f"{name} timed out after {limit:g} s"
        except asyncio.CancelledError:
            raise
        except Exception as e:  # any tool failure becomes an error result
            result.status = "error"
            result.error = f"{name} failed: {type(e).__name__}: {e}"
        result.elapsed_s = time.perf_counter() - t0
        return result
