"""Data in: the data matrix (9), standardization (13), labels, splits and batches
(``tables``), the bundled data sets and the CSV reader (``datasets``), atomic file
writes (``files``)."""

from dlprimer.data.datasets import read_csv
from dlprimer.data.tables import (
    Standardizer,
    as_matrix,
    batches,
    decode_labels,
    encode_labels,
    index_labels,
    infer_task,
    train_test_split,
)

__all__ = [
    "Standardizer", "as_matrix", "batches", "decode_labels", "encode_labels", "index_labels",
    "infer_task", "read_csv", "train_test_split",
]
