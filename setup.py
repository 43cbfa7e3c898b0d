"""Package map: the fixed top-level folders are installed as subpackages of `vtonkit`.

`datasets/` becomes `vtonkit.datasets` (and so on) so that it never shadows the Hugging Face
`datasets` package that many ML environments have installed.
"""
from setuptools import find_packages, setup

PACKAGE_DIRS = {
    "vtonkit": "vtonkit",
    "vtonkit.crawlers": "crawlers",
    "vtonkit.preprocess": "preprocess",
    "vtonkit.datasets": "datasets",
    "vtonkit.vton_infer": "vton_infer",
}

packages = []
for package, folder in PACKAGE_DIRS.items():
    packages.append(package)
    packages += [f"{package}.{sub}" for sub in find_packages(folder)]

setup(
    packages=packages,
    package_dir=PACKAGE_DIRS,
    package_data={"": ["*.html", "*.css", "*.js", "*.png", "*.jpg", "*.txt", "*.md", "*.json", "*.toml", "LICENSE*"]},
    include_package_data=True,
)
