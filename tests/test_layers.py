"""No package imports a later stage: extraction never imports linking or scoring, and so on.

Read from the source with `ast`, so an import inside a function or under `TYPE_CHECKING` counts as
much as one at the top of a module (a lazy import is still a dependency).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "threadline"

# Each package and the later stages it must not import. The pipeline runs ingest (which calls
# extract and writes the store), then link, then score; read, serve, service, engines and the
# command line sit on top of all of them.
TOP = {"read", "serve", "service", "engines", "cli"}
LATER = {
    "extract": {"store", "ingest", "link", "score"} | TOP,
    "store": {"ingest", "link", "score"} | TOP,
    "ingest": {"link", "score"} | TOP,
    "link": {"score"} | TOP,
    "score": TOP,
}


def imported(path: Path, root: Path = PACKAGE) -> list[tuple[int, str]]:
    """(line, module) of every `threadline` module a source file imports, relative ones resolved."""
    parts = ["threadline", *path.relative_to(root).with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    else:
        parts.pop()  # a module's relative imports start from its package
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = parts[: len(parts) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            # `from threadline import score` imports the package `threadline.score`.
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names]
    return [(line, name) for line, name in found if name.split(".")[0] == "threadline"]


def stage(module: str) -> str:
    return module.split(".")[1] if module.count(".") else ""


@pytest.mark.parametrize("package", sorted(LATER))
def test_no_package_imports_a_later_stage(package: str) -> None:
    later = LATER[package]
    wrong = [
        f"{path.relative_to(PACKAGE.parent)}:{line}: imports {name}"
        for path in sorted((PACKAGE / package).rglob("*.py"))
        for line, name in imported(path)
        if stage(name) in later
    ]
    assert not wrong, f"threadline.{package} imports a later stage:\n" + "\n".join(wrong)


def test_the_walk_sees_every_form_of_import(tmp_path: Path) -> None:
    """The check would pass vacuously if it missed an import: each form below must be found."""
    probe = tmp_path / "threadline" / "extract" / "probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text(
        "import threadline.score.scorer\n"
        "from threadline.link import persons\n"
        "from threadline import serve\n"
        "if TYPE_CHECKING:\n"
        "    from threadline.engines import local\n"
        "def f():\n"
        "    from ..read import networks\n"
        "    from . import phones\n"
        "import json\n",
        encoding="utf-8",
    )
    names = [name for _, name in imported(probe, root=probe.parents[1])]
    assert sorted(stage(name) for name in names) == ["engines", "extract", "link", "read", "score", "serve"]
