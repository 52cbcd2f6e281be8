"""The training dashboard: the worker thread, its session, the settings form and the curves."""
