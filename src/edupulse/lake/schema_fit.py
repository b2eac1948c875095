"""Fitting a batch of rows to the table it is appended to.

Tables of JSON topics take whatever fields operators emit, so a batch may lack a
partition column (``course`` for an output without a course) or give a column another
type than the table holds. Before an append, a missing partition column is added as
nulls, and a column of another type is cast to the table's type when that loses
nothing (an integer into a double column); when it would lose something (text into a
number column), the batch's column is renamed ``<name>_<type>`` and becomes a column of
its own, so no value is dropped and no commit is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["fit_batch"]

logger = logging.getLogger(__name__)


def fit_batch(batch: pa.Table, schema: pa.Schema | None, partition_by: Sequence[str]) -> pa.Table:
    """``batch`` with the partition columns it lacks, and its columns cast to ``schema``'s types where lossless."""
    for name in partition_by:
        if name not in batch.column_names:
            batch = batch.append_column(name, pa.nulls(batch.num_rows, pa.string()))
    if schema is None:
        return batch
    for i, field in enumerate(batch.schema):
        if field.name not in schema.names:
            continue
        want = schema.field(field.name).type
        if field.type == want:
            continue
        try:
            batch = batch.set_column(i, field.name, pc.cast(batch.column(i), want, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            renamed = f"{field.name}_{field.type}"
            logger.warning(
                "column %s is %s in the table but %s in a batch; writing it as %s",
                field.name,
                want,
                field.type,
                renamed,
            )
            batch = batch.rename_columns([renamed if j == i else n for j, n in enumerate(batch.column_names)])
    return batch
