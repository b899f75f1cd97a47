"""Lists the subpackages that pyproject.toml's package-dir maps, nested ones included.

setuptools' automatic discovery cannot follow a package-dir that maps several
top-level folders onto one namespace, so the list is computed here.
"""

from setuptools import Extension, find_packages, setup

SUBPACKAGES = ["server", "checkers", "harness", "nemeses", "workloads"]

packages = ["unkindness"]
for sub in SUBPACKAGES:
    packages.append(f"unkindness.{sub}")
    packages += [f"unkindness.{sub}.{p}" for p in find_packages(sub)]

# The kv model's check in C (checkers/linear/kv_native.c says why). Optional: without a compiler the
# install still succeeds and the checker runs its Python pipeline, with the same verdicts, only slower.
native = [Extension("unkindness.checkers.linear.kv_native", ["checkers/linear/kv_native.c"],
                    extra_compile_args=["-O2"], optional=True)]

setup(packages=packages, package_data={"unkindness.harness.report": ["assets/*"]}, ext_modules=native)
