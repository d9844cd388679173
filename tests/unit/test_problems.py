"""One error hierarchy: every kind of ``LedgerError`` is one problem type with one status."""

from __future__ import annotations

import importlib
import pkgutil

from ledger.api.problems import PROBLEM_BASE, STATUS_BY_ERROR, status_of

import ledger
from ledger import errors


def every_error_class() -> list[type[errors.LedgerError]]:
    for module in pkgutil.walk_packages(ledger.__path__, "ledger."):
        if not module.name.startswith("ledger.cli"):
            importlib.import_module(module.name)
    found: list[type[errors.LedgerError]] = []
    pending: list[type[errors.LedgerError]] = [errors.LedgerError]
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


def test_every_error_kind_is_its_own_problem_type() -> None:
    classes = every_error_class()
    assert errors.Unauthenticated in classes and len(classes) > 20
    kinds = [cls.kind for cls in classes]
    assert len(set(kinds)) == len(kinds), "two error classes share a problem type"
    for cls in classes:
        assert "kind" in vars(cls), f"{cls.__name__} inherits its problem type"
        assert cls.kind.replace("-", "").isalpha() and cls.kind == cls.kind.lower()
        assert 400 <= status_of(cls("x")) <= 500, cls


def test_statuses_are_decided_most_specific_first() -> None:
    assert status_of(errors.Unauthenticated("x")) == 401
    assert status_of(errors.IdempotencyKeyReused("x")) == 422
    assert status_of(errors.InvalidInput("x")) == 422
    assert status_of(errors.CredentialRevoked("x")) == 409
    assert status_of(errors.SignatureInvalid("x")) == 500
    assert STATUS_BY_ERROR[-1] == (errors.LedgerError, 400)
    assert PROBLEM_BASE == "urn:ledger:problem:"
