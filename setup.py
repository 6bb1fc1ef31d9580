"""Ships the dashboard inside the wheel; everything else is declared in pyproject.toml.

The repository keeps ``app.py`` and ``pages/`` at the top (``streamlit run app.py``, ``make run``).
An installed copy carries them as ``mmcorr/_dashboard/app.py`` and ``mmcorr/_dashboard/pages/``
(with the dashboard's ``.streamlit/config.toml``), which ``mmcorr dashboard`` serves. Streamlit puts
the main script's folder first on ``sys.path``, so the pages' ``import pages._ui`` finds the copy
next to that ``app.py``. pyproject.toml cannot map a package onto the repository root while also
discovering ``mmcorr*`` itself, hence this file.
"""

from __future__ import annotations

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

DASHBOARD = {"mmcorr._dashboard": ".", "mmcorr._dashboard.pages": "pages"}
#: The only module of the repository root that belongs to the dashboard.
ROUTER = "app"


class BuildPy(build_py):
    """The root folder holds other scripts (this one): from it, ship the router only."""

    def find_package_modules(self, package: str, package_dir: str) -> list[tuple[str, str, str]]:
        modules = super().find_package_modules(package, package_dir)
        if package == "mmcorr._dashboard":
            modules = [m for m in modules if m[1] == ROUTER]
        return modules


setup(
    packages=[*find_packages(include=["mmcorr", "mmcorr.*"]), *DASHBOARD],
    package_dir=DASHBOARD,
    package_data={"mmcorr._dashboard": [".streamlit/config.toml"]},
    cmdclass={"build_py": BuildPy},
)
