"""Documentation that is generated must be current; public names must be documented."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

import collectsim
from collectsim.experiments.schema_doc import render

ROOT = Path(__file__).resolve().parents[1]


def test_scenario_reference_is_current():
    assert (ROOT / "docs" / "scenario.md").read_text() == render(), "run: python -m collectsim.experiments.schema_doc > docs/scenario.md"


def test_every_public_name_has_a_docstring():
    missing = []
    for mod_info in pkgutil.walk_packages(collectsim.__path__, "collectsim."):
        if mod_info.name.endswith("__main__"):
            continue
        mod = importlib.import_module(mod_info.name)
        if not (mod.__doc__ or "").strip():
            missing.append(mod_info.name)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if (inspect.isclass(obj) or inspect.isfunction(obj)) and not (obj.__doc__ or "").strip():
                missing.append(f"{mod_info.name}.{name}")
    assert not missing, f"undocumented: {missing}"


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
_PATH = re.compile(r"`((?:collectsim|tests|docs|benchmarks|experiments|scripts)/[\w./-]*\.(?:py|md|toml|sh))(?:::\w+)?`")
_LINK = re.compile(r"\]\(((?:docs/)?[\w./-]+\.md)(?:#[\w-]+)?\)")
_DOTTED = re.compile(r"`(collectsim(?:\.\w+)+)`")
_TEST = re.compile(r"`(tests/[\w/]+\.py)::(\w+)`")


def _resolves(dotted: str) -> bool:
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            if not hasattr(obj, attr):
                return False
            obj = getattr(obj, attr)
        return True
    return False


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_docs_point_only_at_files_and_names_that_exist(doc):
    text = doc.read_text()
    missing = [p for p in _PATH.findall(text) if not (ROOT / p).exists()]
    missing += [p for p in _LINK.findall(text) if not (doc.parent / p).exists()]
    missing += [d for d in _DOTTED.findall(text) if not _resolves(d)]
    missing += [f"{f}::{t}" for f, t in _TEST.findall(text)
                if not (ROOT / f).exists() or f"def {t}(" not in (ROOT / f).read_text()]
    assert not missing, f"{doc.name} points at what does not exist: {missing}"


def test_docstring_cross_references_resolve():
    ref = re.compile(r":(?:mod|func|class|meth|data|attr):`~?(collectsim[\w.]*)`")
    bad = []
    for f in (ROOT / "collectsim").rglob("*.py"):
        for name in ref.findall(f.read_text()):
            if not _resolves(name):
                bad.append(f"{f.relative_to(ROOT)}: {name}")
    assert not bad, bad


def test_the_code_cites_only_docs_that_exist():
    cited = re.compile(r"``(docs/[\w./-]+\.md)")
    bad = [f"{f.relative_to(ROOT)}: {d}" for f in (ROOT / "collectsim").rglob("*.py")
           for d in cited.findall(f.read_text()) if not (ROOT / d).exists()]
    assert not bad, bad


def test_model_doc_headings_name_functions_that_exist():
    """Each heading of docs/model.md names the code that implements it; those names exist."""
    code = "\n".join(f.read_text() for f in (ROOT / "collectsim").rglob("*.py"))
    names = set(re.findall(r"\b(?:def|class)\s+(\w+)", code))  # (\b: not the "class" of "@dataclass")
    bad = []
    for heading in re.findall(r"^#+ .*$", (ROOT / "docs" / "model.md").read_text(), flags=re.M):
        for span in re.findall(r"`([\w.]+)`", heading):
            last = span.split(".")[-1]
            if "/" not in span and last not in names and not last.endswith(("py", "md")):
                bad.append(f"{heading}: {span}")
    assert not bad, bad
