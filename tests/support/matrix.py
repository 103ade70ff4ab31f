"""Helpers for the per-area authorization matrices: which routes a hand-made matrix misses."""

from __future__ import annotations

from collections.abc import Iterable

IGNORED_METHODS = frozenset({"HEAD", "OPTIONS"})


def covered(app, requests: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
    """{(endpoint, method)} of the (method, path) pairs a matrix requests."""
    adapter = app.url_map.bind("localhost")
    return {(adapter.match(path.split("?")[0], method=method)[0], method)
            for method, path in requests}


def uncovered(app, blueprints: Iterable[str], done: set[tuple[str, str]],
              exempt: Iterable[str]) -> list[str]:
    """Each method of each route of `blueprints` that is neither in `done` nor `exempt`."""
    blueprints, exempt = set(blueprints), set(exempt)
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] not in blueprints or rule.endpoint in exempt:
            continue
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            if (rule.endpoint, method) not in done:
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    return missing
