"""How big rlscale's functions and modules are: ``python -m tests.code_size [ROOT]`` lists
the functions over :data:`MAX_FUNCTION_LINES` lines and the modules over
:data:`MAX_MODULE_LINES` lines (tests/test_code_size.py keeps the lists from growing)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MAX_FUNCTION_LINES = 80
MAX_MODULE_LINES = 400


def long_functions(root: Path, limit: int = MAX_FUNCTION_LINES) -> dict[str, int]:
    """``path:qualified.name`` -> lines (decorators included) of every function over
    ``limit`` lines under ``root``."""
    out: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        rel = path.relative_to(root.parent).as_posix()

        def visit(node: ast.AST, prefix: str, rel: str = rel) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    name = f"{prefix}{child.name}"
                    if not isinstance(child, ast.ClassDef):
                        first = min([d.lineno for d in child.decorator_list] + [child.lineno])
                        lines = (child.end_lineno or child.lineno) - first + 1
                        if lines > limit:
                            out[f"{rel}:{name}"] = lines
                    visit(child, f"{name}.")

        visit(tree, "")
    return out


def long_modules(root: Path, limit: int = MAX_MODULE_LINES) -> dict[str, int]:
    """``path`` -> lines of every module over ``limit`` lines under ``root``."""
    out: dict[str, int] = {}
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_text().splitlines())
        if lines > limit:
            out[path.relative_to(root.parent).as_posix()] = lines
    return out


def main(argv: list[str]) -> None:
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent / "rlscale"
    functions, modules = long_functions(root), long_modules(root)
    for name, lines in sorted(functions.items(), key=lambda item: -item[1]):
        sys.stdout.write(f"{lines:5d}  {name}\n")
    sys.stdout.write(f"{len(functions)} function(s) over {MAX_FUNCTION_LINES} lines\n")
    for name, lines in sorted(modules.items(), key=lambda item: -item[1]):
        sys.stdout.write(f"{lines:5d}  {name}\n")
    sys.stdout.write(f"{len(modules)} module(s) over {MAX_MODULE_LINES} lines\n")


if __name__ == "__main__":
    main(sys.argv[1:])
