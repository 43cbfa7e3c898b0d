"""The layering contract of pyproject.toml ([tool.importlinter]): check it, and draw docs/architecture.md from it.

    python -m vtonkit.architecture lint   # lint-imports on the installed package map (what `make test` runs)
    python -m vtonkit.architecture doc    # docs/architecture.md on stdout

`lint-imports` finds a package's modules by walking its folder, but vtonkit's subpackages live in
sibling folders (crawlers/, preprocess/, ... mapped by setup.py). `lint` therefore lays the
package out as it is installed, as symlinks in a temporary folder, and runs lint-imports there.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = REPO / "pyproject.toml"
DOC = REPO / "docs" / "architecture.md"

# How data moves through the toolkit: (from, to, what travels). Nodes are modules of the contract.
DATA_FLOW = (
    ("vtonkit.crawlers", "vtonkit.preprocess", "catalog.jsonl + garment images"),
    ("vtonkit.preprocess", "vtonkit.datasets.layout", "HR-VITON split: image, parse, pose, DensePose, agnostic, cloth"),
    ("vtonkit.datasets.layout", "vtonkit.datasets.pairing", "samples"),
    ("vtonkit.datasets.pairing", "vtonkit.datasets.pairs", "SPLIT_pairs.txt"),
    ("vtonkit.datasets.layout", "vtonkit.datasets.validate", "every file"),
    ("vtonkit.datasets.validate", "vtonkit.datasets.review", "report (findings)"),
    ("vtonkit.datasets.review", "vtonkit.datasets.clean", "keep / reject decisions"),
    ("vtonkit.datasets.clean", "vtonkit.datasets.layout", "quarantine/, pruned pair lists"),
    ("vtonkit.datasets.pairs", "vtonkit.vton_infer", "pairs to try on"),
    ("vtonkit.vton_infer", "vtonkit.vton_infer.sheets", "try-on PNGs, grids, catalog sheets"),
)


@dataclass(frozen=True)
class Layer:
    """One layer of the contract: its modules, and whether they must not import each other."""

    modules: tuple[str, ...]
    independent: bool


def load_contracts(pyproject: Path = PYPROJECT) -> list[dict]:
    """The import-linter contracts of pyproject.toml."""
    return tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["importlinter"]["contracts"]


def load_layers(pyproject: Path = PYPROJECT) -> list[Layer]:
    """The layers of the contract with id "layers", top first."""
    contract = next(c for c in load_contracts(pyproject) if c.get("id") == "layers")
    layers = []
    for text in contract["layers"]:
        independent = "|" in text
        parts = text.split("|") if independent else text.split(":")
        layers.append(Layer(tuple(p.strip() for p in parts), independent))
    return layers


def package_dirs(setup_py: Path = REPO / "setup.py") -> dict[str, str]:
    """setup.py's PACKAGE_DIRS literal ({package: folder}), read without running setup.py."""
    for node in ast.parse(setup_py.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PACKAGE_DIRS" for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{setup_py}: no PACKAGE_DIRS")


def stage_package(root: Path) -> Path:
    """Symlink the installed layout of `vtonkit` under `root` (subpackages in their sibling folders)."""
    dirs = package_dirs()
    top = root / "vtonkit"
    top.mkdir()
    for entry in (REPO / dirs["vtonkit"]).iterdir():
        if entry.name != "__pycache__":
            (top / entry.name).symlink_to(entry)
    for package, folder in dirs.items():
        if package != "vtonkit":
            (top / package.split(".", 1)[1]).symlink_to(REPO / folder)
    return root


def lint(config: Path = PYPROJECT, **run_options) -> subprocess.CompletedProcess:
    """Run lint-imports on the contract in `config`; its exit code is non-zero on any back-edge."""
    with tempfile.TemporaryDirectory(prefix="vtonkit-layers-") as tmp:
        stage_package(Path(tmp))
        env = {**os.environ, "PYTHONPATH": tmp}
        command = [str(Path(sys.executable).parent / "lint-imports"), str(config), "--no-cache"]
        return subprocess.run(command, cwd=tmp, env=env, **run_options)


def _node(module: str) -> str:
    return module.replace(".", "_")


def _label(module: str) -> str:
    return module.removeprefix("vtonkit.")


def render_doc(layers: list[Layer], contracts: list[dict]) -> str:
    """docs/architecture.md: the layers (from the contract) and the data flow, as mermaid diagrams."""
    names = ["CLI (parse arguments, call one library function, print)", "Dataset tools, inference and training",
             "Preprocess (photos and garment shots to HR-VITON samples)", "Crawl (shops to a garment catalog)",
             "HR-VITON format library", "Shared core (errors, logs, progress, terminal-safe text, categories, paths, listening sockets and allowed host names)"]
    if len(names) != len(layers):
        raise ValueError(f"the contract has {len(layers)} layers; name each one in vtonkit.architecture")
    lines = [
        "# Architecture",
        "",
        "<!-- Generated by `python -m vtonkit.architecture doc > docs/architecture.md` from the import-linter",
        "     contract in pyproject.toml; tests/test_architecture.py fails when the two drift. -->",
        "",
        "The code is layered one way: a module imports only from its own layer or the layers below it.",
        "`make test` checks this with import-linter (`python -m vtonkit.architecture lint`), so a back-edge",
        "fails the build. Within a layer, parts joined by a dotted arrow must not import each other.",
        "The same command fails on a module that sits in no layer, and on a lazy import target (a",
        "`\"module:Class\"` string a registry imports at run time) that crosses the contract.",
        "How to add a backend, a store, an export target or a validate check: docs/extending.md.",
        "",
        "## Layers",
        "",
        "```mermaid",
        "flowchart TB",
    ]
    for index, (name, layer) in enumerate(zip(names, layers)):
        lines.append(f'  subgraph L{index}["{name}"]')
        lines.append("    direction LR")
        lines += [f'    {_node(m)}["{_label(m)}"]' for m in layer.modules]
        if layer.independent:
            lines += [f"    {_node(a)} -.-|independent| {_node(b)}" for a, b in zip(layer.modules, layer.modules[1:])]
        lines.append("  end")
    lines += [f"  L{i} --> L{i + 1}" for i in range(len(layers) - 1)]
    lines += ["```", "", "| layer | modules | rule |", "|---|---|---|"]
    for name, layer in zip(names, layers):
        rule = "must not import each other" if layer.independent else "may import each other"
        lines.append(f"| {name} | {', '.join(f'`{m}`' for m in layer.modules)} | {rule} |")
    forbidden = [c for c in contracts if c.get("type") == "forbidden"]
    if forbidden:
        lines += ["", "Also enforced:", ""]
        for contract in forbidden:
            lines.append(f"- {contract['name']}: {', '.join(f'`{_label(m)}`' for m in contract['source_modules'])} "
                         f"never import {', '.join(f'`{_label(m)}`' for m in contract['forbidden_modules'])}.")
    lines += ["", "## Data flow", "", "```mermaid", "flowchart LR"]
    for source, target, what in DATA_FLOW:
        lines.append(f'  {_node(source)}["{_label(source)}"] -->|"{what}"| {_node(target)}["{_label(target)}"]')
    lines += ["```", ""]
    return "\n".join(lines)


def layer_of(module: str, layers: list[Layer]) -> int | None:
    """Index of the layer that holds `module` (or a package above it); None when none does."""
    for index, layer in enumerate(layers):
        if any(module == m or module.startswith(m + ".") for m in layer.modules):
            return index
    return None


def package_modules() -> list[str]:
    """Every module of the installed package map, named as it is imported, with its file."""
    return sorted(_module_files())


def _module_files() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in package_dirs().items():
        root = REPO / folder
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join((package, *parts))] = path
    return found


# namespaces holding several layers; no code of their own
PACKAGES_ONLY = frozenset({"vtonkit", "vtonkit.datasets"})
# a lazy import target: "vtonkit.preprocess.backends.x:Class" (registries, export targets)
_TARGET = re.compile(r"^(vtonkit(?:\.\w+)+):\w+$")


def unplaced_modules(layers: list[Layer]) -> list[str]:
    """Modules that no layer of the contract holds: lint-imports checks nothing of theirs."""
    return [m for m in package_modules() if m not in PACKAGES_ONLY and layer_of(m, layers) is None]


def _strings(tree: ast.Module) -> list[tuple[str, int]]:
    """(text, line) of every string constant, and of every f-string made of literals and module-level
    string constants (``f"{_B}.backend:Class"``)."""
    constants = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                 and isinstance(n.value, ast.Constant) and isinstance(n.value.value, str)
                 for t in n.targets if isinstance(t, ast.Name)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            found.append((node.value, node.lineno))
        elif isinstance(node, ast.JoinedStr):
            parts = []
            for value in node.values:
                if isinstance(value, ast.Constant):
                    parts.append(str(value.value))
                elif isinstance(value, ast.FormattedValue) and isinstance(value.value, ast.Name) \
                        and value.value.id in constants:
                    parts.append(constants[value.value.id])
                else:
                    break
            else:
                found.append(("".join(parts), node.lineno))
    return found


def _within(module: str, packages: list[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def lazy_targets() -> list[tuple[str, int, str]]:
    """(module, line, target) of every lazy import target named in the package."""
    return [(module, line, text) for module, path in sorted(_module_files().items())
            for text, line in _strings(ast.parse(path.read_text(encoding="utf-8"))) if _TARGET.match(text)]


def lazy_import_problems(layers: list[Layer], contracts: list[dict],
                         targets: list[tuple[str, int, str]] | None = None) -> list[str]:
    """Lazy import targets ("module:Class" strings, imported by name at run time; default
    :func:`lazy_targets`) that point where the module naming them may not import: lint-imports sees
    no import statement there."""
    forbidden = [c for c in contracts if c.get("type") == "forbidden"]
    problems = []
    for module, line, text in lazy_targets() if targets is None else targets:
        target = text.split(":")[0]
        source_layer, target_layer = layer_of(module, layers), layer_of(target, layers)
        crosses = any(_within(module, c["source_modules"]) and _within(target, c["forbidden_modules"])
                      for c in forbidden)
        if source_layer is not None and target_layer is not None:
            layer = layers[source_layer]
            parts = {next(m for m in layer.modules if _within(name, [m])) for name in (module, target)} \
                if target_layer == source_layer else set()
            crosses = crosses or target_layer < source_layer or (layer.independent and len(parts) == 2)
        if crosses:
            problems.append(f"{module} (l.{line}) names {text!r} to import at run time, a module it is not "
                            "allowed to import")
    return problems


FIX_HINT = ("A module may import only from its own layer or the layers below it (docs/architecture.md). "
            "Move what both sides need down to a lower layer (vtonkit.core, or the format library "
            "vtonkit.datasets.io), or let the layer above pass it in as an argument.")


def check() -> int:
    """`lint`: the import contract, modules outside every layer, and lazy import targets; 0 when all hold."""
    layers = load_layers()
    status = lint().returncode
    problems = [f"{m} sits in no layer of the contract: add it to [tool.importlinter] in pyproject.toml"
                for m in unplaced_modules(layers)] + lazy_import_problems(layers, load_contracts())
    for problem in problems:
        print(problem)
    if status or problems:
        print(FIX_HINT)
        return 1
    print("Every module sits in a layer; no lazy import target crosses the contract.")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["lint"]:
        return check()
    if args == ["doc"]:
        sys.stdout.write(render_doc(load_layers(), load_contracts()))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
