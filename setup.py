"""Packaging glue pyproject.toml cannot express: the package list.

The wheel ships the top-level `models/` folder (model settings, shipped per-unit images) inside the package as
`deepvis_app.models`, mapped in pyproject.toml's `package-dir`. setuptools' automatic `find` cannot combine with
such a mapping, so the list is computed here; all other metadata is in pyproject.toml. Per-unit image caches
(`models/*/unit_vis/cache/`, git-ignored) are never packaged.
"""

from setuptools import find_namespace_packages, setup

SKIP = ["*__pycache__*", "*.cache", "*.cache.*"]

setup(
    packages=find_namespace_packages(include=["deepvis_app", "deepvis_app.*"], exclude=SKIP)
    + ["deepvis_app.models"]
    + [f"deepvis_app.models.{name}" for name in find_namespace_packages(where="models", exclude=SKIP)],
)
