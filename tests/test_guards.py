"""Guards for the house rules and for known-bad dependency versions."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_loads_qt():
    """core is the Qt-free model: importing all of it must not load PySide6 or pyqtgraph."""
    code = (
        "import sys, pkgutil, importlib, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('PySide6', 'pyqtgraph', 'shiboken6'))\n"
        "print(len([m for m in sys.modules if m.startswith('core.')]), bad)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split(maxsplit=1)
    assert int(out[0]) > 5, "the walk imported almost nothing; the guard would prove nothing"
    assert out[1].strip() == "[]"


def test_pyside6_void_calls_keep_none_alive():
    """PySide6 6.12.0 drops a reference to None on every void call and later aborts Python.

    Call a method that returns nothing 20,000 times; None's reference count must not fall.
    """
    from PySide6.QtCore import QObject

    obj = QObject()
    obj.setObjectName("warm-up")
    before = sys.getrefcount(None)
    for _ in range(20_000):
        obj.setObjectName("guard")
    after = sys.getrefcount(None)
    assert after >= before - 100, f"None lost {before - after} references in 20,000 void calls"


def test_readme_commands_are_what_ci_runs():
    """CI must install and test exactly as README.md tells a newcomer."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    for command in ('pip install -e ".[test]"', "pytest"):
        assert f"\n{command}\n" in readme, command
        assert f"\n{command}\n" in ci, command
