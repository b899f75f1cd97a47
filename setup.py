"""Lists the subpackages that pyproject.toml's package-dir maps, nested ones included.

setuptools' automatic discovery cannot follow a package-dir that maps several
top-level folders onto one namespace, so the list is computed here.
"""

from setuptools import find_packages, setup

SUBPACKAGES = ["server", "checkers", "harness", "nemeses", "workloads"]

packages = ["unkindness"]
for sub in SUBPACKAGES:
    packages.append(f"unkindness.{sub}")
    packages += [f"unkindness.{sub}.{p}" for p in find_packages(sub)]

setup(packages=packages, package_data={"unkindness.harness.report": ["assets/*"]})
