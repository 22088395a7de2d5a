"""Data in: the data matrix (9), standardization (13), labels, splits and batches
(``tables``), raw columns to X̃ (``preprocess``), files read with pandas (``reading``), the
bundled data sets (``datasets``), atomic file writes (``files``)."""

from dlprimer.data.preprocess import PreprocessingWarning, Preprocessor
from dlprimer.data.reading import ReadWarning, Table, read_csv, read_table
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
    "PreprocessingWarning", "Preprocessor", "ReadWarning", "Standardizer", "Table",
    "as_matrix", "batches", "decode_labels", "encode_labels", "index_labels", "infer_task",
    "read_csv", "read_table", "train_test_split",
]
