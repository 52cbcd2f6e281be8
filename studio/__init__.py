"""The application: entry point, command line, and (later) the main window."""

__version__ = "0.1.0"
