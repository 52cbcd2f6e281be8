"""Data files of the studio (templates, icons, styles), read with importlib.resources."""
