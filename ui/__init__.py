"""The Qt widgets of the studio (PySide6 and pyqtgraph). Imports core, never studio."""
