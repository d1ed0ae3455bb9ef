"""postbot.app's names are written twice (the lazy table that runs, the imports a type checker reads):
every listed name resolves, and both places name the same names from the same modules."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

import postbot.app as app


def type_checking_imports() -> set[tuple[str, str]]:
    tree = ast.parse(Path(app.__file__).read_text(encoding="utf-8"))
    block = next(node for node in tree.body
                 if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING")
    assert all(isinstance(stmt, ast.ImportFrom) for stmt in block.body)
    return {(stmt.module, alias.asname or alias.name) for stmt in block.body for alias in stmt.names}


def test_every_exported_name_resolves_to_the_one_in_its_module():
    assert app.__all__
    for name in app.__all__:
        assert getattr(app, name) is getattr(importlib.import_module(app._HOME_OF[name]), name), name
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        getattr(app, "nothing_here")


def test_what_a_type_checker_sees_is_what_runs():
    assert type_checking_imports() == {(module, name) for name, module in app._HOME_OF.items()}
