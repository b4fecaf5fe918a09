"""Build step beyond pyproject.toml: the interface's catalogs are compiled
(.po -> .mo, with Babel, a build requirement) into every wheel, so an
installed voiceguide reads them from its package and never compiles at run
time. Everything else is configured in pyproject.toml."""

import importlib.util
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent


def _catalogs():
    spec = importlib.util.spec_from_file_location("_voiceguide_catalogs", HERE / "voiceguide" / "_catalogs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class BuildWithCatalogs(build_py):
    """build_py, then the compiled catalogs beside their .po: in the wheel's
    tree, or in the source tree for an editable install (which reads it)."""

    def run(self):
        super().run()
        source = HERE / "voiceguide" / "locale"
        target = source if self.editable_mode else Path(self.build_lib) / "voiceguide" / "locale"
        _catalogs().compile_catalogs(source, target)


setup(cmdclass={"build_py": BuildWithCatalogs})
