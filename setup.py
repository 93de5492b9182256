"""Maps the import packages onto the repository layout: core/ is `restorefw`, plugins/ is `restorefw_plugins`."""

from setuptools import find_packages, setup

PACKAGE_DIRS = {"restorefw": "core", "restorefw_plugins": "plugins"}

setup(
    package_dir=PACKAGE_DIRS,
    packages=[pkg for name, where in PACKAGE_DIRS.items()
              for pkg in [name] + [f"{name}.{sub}" for sub in find_packages(where)]],
)
