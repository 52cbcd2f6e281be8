"""Core test configuration: the Keras reference, corrected where a released Keras is wrong."""

import os
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")


def _fix_keras_average_pool_same_padding() -> None:
    """Keras 3.15.1 and older on the torch backend count padded cells in average pooling.

    Keras's rule (TensorFlow, JAX and NumPy backends, and keras-team/keras#23233, merged after
    3.15.1) leaves padded cells out of each window's average. With uneven 'same' padding, the
    torch backend of those releases instead copies the edge value into the padding and counts
    it. Our AveragePooling follows the rule, which is what models trained with TensorFlow need;
    this makes the reference follow it too, for 'same' padding only and only on those versions.
    """
    import keras
    import torch
    import torch.nn.functional as F
    from keras.src.backend.torch import nn as knn

    release = tuple(int(p) for p in keras.__version__.split(".")[:3] if p.isdigit())
    if release > (3, 15, 1):
        return
    original = knn.average_pool

    def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
        if padding != "same":
            return original(inputs, pool_size, strides, padding, data_format)
        x = knn.convert_to_tensor(inputs)
        dims = x.ndim - 2
        pool_size = knn.standardize_tuple(pool_size, dims, "pool_size")
        strides = pool_size if strides is None else knn.standardize_tuple(strides, dims, "strides")
        last = knn.backend.standardize_data_format(data_format) == "channels_last"
        if last:
            x = x.movedim(-1, 1)
        pads: list[int] = []
        for size, k, s in reversed(list(zip(x.shape[2:], pool_size, strides, strict=True))):
            pads += knn._compute_padding_length(size, k, s)
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
        ones = torch.ones((1, 1, *x.shape[2:]), dtype=x.dtype, device=x.device)
        out = pool(F.pad(x, pads), pool_size, strides) / pool(F.pad(ones, pads), pool_size, strides)
        return out.movedim(1, -1) if last else out

    knn.average_pool = average_pool


_fix_keras_average_pool_same_padding()


@pytest.fixture(scope="module")
def keras() -> Any:
    """Keras 3 on the torch backend, the reference the studio is checked against."""
    return pytest.importorskip("keras")


@pytest.fixture(scope="module")
def iris() -> Any:
    """The iris flowers (150 samples, 4 numbers, 3 classes)."""
    from core.data.samples import load_sample

    return load_sample("iris")


@pytest.fixture(scope="module")
def digits() -> Any:
    """The 8×8 handwritten digits (1,797 samples, 10 classes)."""
    from core.data.samples import load_sample

    return load_sample("digits")
