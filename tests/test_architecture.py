"""The layering contract (pyproject.toml [tool.importlinter]) is enforced, complete, and drawn in docs/architecture.md."""

from __future__ import annotations

from pathlib import Path

from vtonkit.architecture import DATA_FLOW, DOC, PACKAGES_ONLY, PYPROJECT, REPO, Layer, lazy_import_problems, \
    lazy_targets, layer_of, lint, load_contracts, load_layers, package_dirs, package_modules, render_doc, unplaced_modules


def test_doc_is_generated_from_the_contract():
    expected = render_doc(load_layers(), load_contracts())
    assert DOC.read_text(encoding="utf-8") == expected, (
        "docs/architecture.md drifted from the contract: run `python -m vtonkit.architecture doc > docs/architecture.md`")


def test_every_module_sits_in_a_layer():
    layers = load_layers()
    unplaced = unplaced_modules(layers)
    assert not unplaced, f"modules outside every layer of the contract (add them to pyproject.toml): {unplaced}"
    assert len(package_modules()) > 100 and "vtonkit.preprocess.stages" in package_modules()
    for package in PACKAGES_ONLY:
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


def test_lazy_import_targets_are_held_to_the_contract():
    """A registry names its backends as strings ("module:Class") imported at run time, which
    lint-imports cannot see: preprocess registering a backend in vton_infer linted clean and ran.
    The lint reads those strings too, f-strings built from module constants included."""
    layers, contracts = load_layers(), load_contracts()
    found = lazy_targets()
    assert ("vtonkit.preprocess.stages", "vtonkit.preprocess.backends.mediapipe_pose:MediapipePose") in {
        (module, target) for module, _, target in found}  # an f-string of stages.py
    assert lazy_import_problems(layers, contracts) == []
    upward = ("vtonkit.preprocess.stages", 7, "vtonkit.vton_infer.probe_masker:InferLayerMasker")
    sideways = ("vtonkit.crawlers.spiders.base", 9, "vtonkit.preprocess.backends.mediapipe_pose:MediapipePose")
    downward = ("vtonkit.vton_infer.run", 3, "vtonkit.datasets.io.images:read_image")
    forbidden = ("vtonkit.datasets.validate", 5, "vtonkit.vton_infer.run:main")
    problems = lazy_import_problems(layers, contracts, [upward, sideways, downward, forbidden])
    assert [p.split(" (l.")[0] for p in problems] == ["vtonkit.preprocess.stages", "vtonkit.crawlers.spiders.base",
                                                      "vtonkit.datasets.validate"]
    assert "names 'vtonkit.vton_infer.probe_masker:InferLayerMasker' to import at run time" in problems[0]


def test_lint_reports_modules_outside_every_layer():
    """A module outside every layer passed `lint` (lint-imports checks only the modules a contract names)."""
    layers = [Layer(("vtonkit.cli",), False)]
    assert "vtonkit.preprocess.stages" in unplaced_modules(layers)
