"""Build hook: compile the gettext catalogues (.po -> .mo) into the built package.

Everything else about the package is in pyproject.toml.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithCatalogues(build_py):
    def run(self) -> None:
        super().run()
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for po in Path(self.build_lib, "retentio", "locale").glob("*/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                catalog = read_po(fh, locale=po.parts[-3])
            with po.with_suffix(".mo").open("wb") as fh:
                write_mo(fh, catalog)


setup(cmdclass={"build_py": BuildPyWithCatalogues})
