"""RDFC-1.0 (URDNA2015) canonicalization with a safe mode, fully offline.

pyld 3.3 has no ``safe`` option (an unknown ``"safe": True`` key is silently
ignored and undefined terms are silently dropped). The equivalent it offers is
the ``on_property_dropped`` hook of :class:`pyld.jsonld.JsonLdProcessor`; we
raise from it, and additionally reject relative ``@id``/``@type`` values that
the RDF conversion would otherwise drop without a word. The JSON-LD context
cache is private to this module, so contexts resolved by any other loader in
the process can never leak into what we sign.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

from .errors import CanonicalizationError, UnknownContextError, UnsafeJsonLdError
from .loader import document_loader

_ABSOLUTE_IRI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_CACHE_SIZE = 100
_context_cache: Any = jsonld.LRUCache(maxsize=_CACHE_SIZE)
_cache_lock = threading.Lock()


def _is_absolute_or_blank(value: object) -> bool:
    return isinstance(value, str) and (
        value.startswith("_:") or _ABSOLUTE_IRI.match(value) is not None
    )


def _raise_on_drop(expanded_property: str | None) -> None:
    raise UnsafeJsonLdError(
        f"term {expanded_property!r} is not defined by any @context; it would be "
        "silently dropped from the signed data"
    )


def _options() -> dict[str, Any]:
    return {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": document_loader,
        "contextResolver": ContextResolver(_context_cache, document_loader),
        # With base "" pyld resolves relative IRIs against http://example.org/base/
        # and signs that invented IRI; None keeps them relative so we can refuse them.
        "base": None,
        "processingMode": "json-ld-1.1",
    }


def _walk(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Yield (path, keyword, value) for every @id/@type in an expanded document."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, f"{path}[{i}]")
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in ("@id", "@type"):
                yield path, key, value
            if key != "@value":
                yield from _walk(value, f"{path}/{key}")


def _check_expanded(expanded: Any) -> None:
    if not expanded:
        raise UnsafeJsonLdError("document expands to nothing: no term is defined")
    for path, keyword, value in _walk(expanded, ""):
        values = value if isinstance(value, list) else [value]
        for item in values:
            if keyword == "@type" and item == "@json":
                continue
            if not _is_absolute_or_blank(item):
                raise UnsafeJsonLdError(
                    f"relative {keyword} {item!r} at {path or '/'} would be dropped "
                    "from the signed data (undefined type or non-absolute IRI)"
                )


def _find_unknown_context(exc: BaseException) -> UnknownContextError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnknownContextError):
            return current
        current = current.__cause__ or current.__context__
    return None


def canonicalize(document: dict[str, Any]) -> str:
    """Canonical N-Quads (RDFC-1.0) of a JSON-LD document, in safe mode.

    Raises UnknownContextError for non-bundled contexts, UnsafeJsonLdError when
    data would be dropped, CanonicalizationError for any other JSON-LD error.
    """
    processor = jsonld.JsonLdProcessor(on_property_dropped=_raise_on_drop)
    try:
        with _cache_lock:
            expanded = processor.expand(document, _options())
            _check_expanded(expanded)
            result = processor.normalize(expanded, _options())
    except (UnsafeJsonLdError, UnknownContextError):
        raise
    except Exception as exc:
        unknown = _find_unknown_context(exc)
        if unknown is not None:
            raise UnknownContextError(unknown.url) from exc
        dropped = _find_unsafe(exc)
        if dropped is not None:
            raise UnsafeJsonLdError(str(dropped)) from exc
        raise CanonicalizationError(f"JSON-LD canonicalization failed: {exc}") from exc
    if not isinstance(result, str):
        raise CanonicalizationError("canonicalization did not produce N-Quads text")
    return result


def _find_unsafe(exc: BaseException) -> UnsafeJsonLdError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, UnsafeJsonLdError):
            return current
        current = current.__cause__ or current.__context__
    return None
