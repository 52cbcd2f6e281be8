"""Test configuration shared by every test folder."""

import os
import tempfile

from hypothesis import settings

# Qt tests run without a screen; set before anything imports Qt.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("KERAS_BACKEND", "torch")
# Autosaved recovery files go to a folder of the test run, never to the user's.
os.environ["LAYER_STUDIO_DATA"] = tempfile.mkdtemp(prefix="layer-studio-tests-")
# So does the data cache (decoded image folders).
os.environ["LAYER_STUDIO_CACHE"] = tempfile.mkdtemp(prefix="layer-studio-cache-")

# CI runs the same examples every time, so a red build always reproduces.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
