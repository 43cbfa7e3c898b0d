"""The layering contract (pyproject.toml [tool.importlinter]) is enforced, complete, and drawn in docs/architecture.md."""

from __future__ import annotations

from pathlib import Path

from vtonkit.architecture import DATA_FLOW, DOC, PYPROJECT, REPO, layer_of, lint, load_contracts, load_layers, \
    package_dirs, render_doc


def _modules() -> list[str]:
    """Every module of the installed package map, named as it is imported."""
    found = []
    for package, folder in package_dirs().items():
        root = REPO / folder
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found.append(".".join((package, *parts)))
    return sorted(set(found))


def test_doc_is_generated_from_the_contract():
    expected = render_doc(load_layers(), load_contracts())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/architecture.md drifted from the contract: run `python -m vtonkit.architecture doc > docs/architecture.md`")


def test_every_module_sits_in_a_layer():
    layers = load_layers()
    packages_only = {"vtonkit", "vtonkit.datasets"}  # namespaces holding several layers; no code of their own
    unplaced = [m for m in _modules() if m not in packages_only and layer_of(m, layers) is None]
    assert not unplaced, f"modules outside every layer of the contract (add them to pyproject.toml): {unplaced}"
    for package in packages_only:
        init = REPO / package_dirs()[package] / "__init__.py"
        assert "import" not in init.read_text(encoding="utf-8"), f"{init} must stay free of imports"
    assert all(layer_of(m, layers) is not None for edge in DATA_FLOW for m in edge[:2])


def test_contract_holds():
    run = lint(capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]


def test_a_back_edge_breaks_the_build(tmp_path: Path):
    """The same machinery on a contract that the code breaks (core on top) must fail, naming an edge:
    proof that lint-imports sees the subpackages in their sibling folders."""
    text = PYPROJECT.read_text(encoding="utf-8")
    layers_start = text.index("layers = [")
    reversed_layers = 'layers = [\n    "vtonkit.core",\n    "vtonkit.datasets.io",\n]\n'
    broken = text[:layers_start] + reversed_layers + text[text.index("]\n", layers_start) + 2:]
    config = tmp_path / "pyproject.toml"
    config.write_text(broken, encoding="utf-8")
    run = lint(config, capture_output=True, text=True)
    assert run.returncode != 0
    assert "vtonkit.datasets.io" in run.stdout and "is not allowed to import vtonkit.core" in run.stdout
