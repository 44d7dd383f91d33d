"""Bulk inserts for the few places that write tens of thousands of rows at once (re-routing,
imports): PostgreSQL COPY, which skips building a model instance per row; other databases (the
SQLite demo) fall back to bulk_create."""

import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models


def json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def copy_into(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert `rows` (values in `columns` order, JSON already as text) into `model`'s table."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        json_columns = {
            f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
        }
        model.objects.bulk_create(
            [
                model(
                    **{
                        column: json.loads(value)
                        if column in json_columns and value is not None
                        else value
                        for column, value in zip(columns, row, strict=True)
                    }
                )
                for row in rows
            ],
            batch_size=2000,
        )
        return len(rows)
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)
    return len(rows)
