"""Data for training: built-in samples, CSV files, image folders, NumPy and MNIST files."""

from core.data.dataset import (
    Array,
    ArraySource,
    DataError,
    Dataset,
    Description,
    Splits,
    Task,
    describe,
    split,
    take,
)

__all__ = [
    "Array",
    "ArraySource",
    "DataError",
    "Dataset",
    "Description",
    "Splits",
    "Task",
    "describe",
    "split",
    "take",
]
