"""Input conversion and one-line errors shared by the evaluation functions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infoclr.arrays import as_feature_matrix, as_label_vector, l2_normalize_rows
from infoclr.errors import DataError, InfoclrError


def test_feature_matrix_conversion() -> None:
    half = torch.randn(4, 3).to(torch.bfloat16)
    matrix = as_feature_matrix(half)
    assert matrix.dtype == np.float32 and matrix.flags.c_contiguous
    assert np.array_equal(matrix, half.float().numpy())
    assert as_feature_matrix([[1, 2], [3, 4]]).dtype == np.float32


def test_feature_matrix_errors_list_bad_rows() -> None:
    features = np.zeros((30, 2))
    features[[2, 5, 8, 11, 14, 17, 20, 23, 26, 27, 29], 1] = np.inf
    with pytest.raises(DataError) as caught:
        as_feature_matrix(features, "train_features")
    message = str(caught.value)
    assert "11 row(s) [2, 5, 8, 11, 14, 17, 20, 23, 26, 27, ... and 1 more]" in message
    assert "\n" not in message
    with pytest.raises(DataError, match="2-D"):
        as_feature_matrix(np.zeros(5))
    with pytest.raises(DataError, match="empty"):
        as_feature_matrix(np.zeros((0, 3)))
    with pytest.raises(DataError, match="numeric"):
        as_feature_matrix(np.array([["a", "b"]]))


def test_label_vector_conversion_and_errors() -> None:
    assert as_label_vector(np.array([0.0, 2.0, 1.0]), 3).tolist() == [0, 2, 1]
    assert as_label_vector(torch.tensor([1, 0]), 2).dtype == np.int64
    with pytest.raises(DataError, match="whole numbers"):
        as_label_vector(np.array([0.5, 1.0]), 2)
    with pytest.raises(DataError, match=r"negative class ids in row\(s\) \[1\]"):
        as_label_vector(np.array([0, -1]), 2)
    with pytest.raises(DataError, match="has 2 entries but features has 3 rows"):
        as_label_vector([0, 1], 3)
    with pytest.raises(DataError, match="1-D"):
        as_label_vector(np.zeros((2, 2), dtype=int), 2)
    # Callers can catch every user mistake as InfoclrError or as ValueError.
    with pytest.raises(InfoclrError):
        as_label_vector(["a", "b"], 2)
    with pytest.raises(ValueError):
        as_label_vector([0], 2)


def test_l2_normalize_rows_keeps_zero_rows() -> None:
    normalized = l2_normalize_rows(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32))
    assert np.allclose(normalized, [[0.6, 0.8], [0.0, 0.0]])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_tensors_are_moved_to_cpu() -> None:
    features = torch.randn(3, 2, device="cuda")
    assert np.allclose(as_feature_matrix(features), features.cpu().numpy())
