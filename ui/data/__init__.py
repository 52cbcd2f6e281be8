"""The Data page: choose a dataset, read a CSV with a wizard, split, preview, check the fit."""

from ui.data.csv_wizard import CsvWizard
from ui.data.panel import DataPanel

__all__ = ["CsvWizard", "DataPanel"]
