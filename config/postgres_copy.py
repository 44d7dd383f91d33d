"""Bulk reads and writes for the few places that handle tens of thousands of rows at once
(re-routing, imports, deadlines): PostgreSQL COPY, or one INSERT/UPDATE over unnest()ed arrays,
which skip building a model instance per row and cost one statement however many rows there are,
and `AnyOf` for batches of ids; other databases (the SQLite demo) fall back to bulk_create,
bulk_update and IN."""

import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.lookups import In


class AnyOf(In):
    """`AnyOf(F("field"), values)` in a filter: `field IN values`, sent on PostgreSQL as one array
    parameter (`field = ANY(%s)`). For the thousands of ids of a batch that halves the cost of
    the read against one placeholder per id (measured by make bench); elsewhere a plain IN."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, [value for value in self.rhs if value is not None])


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
    statement = f"COPY {table} ({names}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
    if connection.queries_logged:
        # COPY bypasses Django's cursor wrapper; logged by hand so that query-count tests and the
        # benchmark count it like any other statement.
        connection.queries_log.append(
            {"sql": f"{statement} -- {len(rows)} rows", "time": f"{time.monotonic() - started:.3f}"}
        )
    return len(rows)


def _array_types(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    fields = [model._meta.get_field(column) for column in columns]
    return [f"{field.db_type(connection)}[]" for field in fields]


def insert_returning(
    model: type[models.Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    returning: Sequence[str] = ("id",),
) -> list[tuple]:
    """Insert `rows` and return the `returning` columns of each new row. Callers match rows
    back by a unique column they returned, never by position."""
    rows = list(rows)
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows], batch_size=2000
        )
        return [tuple(getattr(obj, name) for name in returning) for obj in created]
    quote = connection.ops.quote_name
    arrays = ", ".join(f"%s::{kind}" for kind in _array_types(model, columns))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(map(quote, columns))}) "
            f"SELECT * FROM unnest({arrays}) RETURNING {', '.join(map(quote, returning))}",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return cursor.fetchall()


def update_rows(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Set `columns[1:]` of the rows whose primary key is `columns[0]`: one UPDATE ... FROM
    unnest() statement (Django's bulk_update writes a CASE per row and column)."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
        return model.objects.bulk_update(objects, list(columns[1:]), batch_size=2000)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    arrays = ", ".join(f"%s::{kind}" for kind in _array_types(model, columns))
    names = ", ".join(quote(column) for column in columns)
    assignments = ", ".join(f"{quote(c)} = new.{quote(c)}" for c in columns[1:])
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS new({names}) "
            f"WHERE {table}.{quote(columns[0])} = new.{quote(columns[0])}",
            [list(column) for column in zip(*rows, strict=True)],
        )
        return cursor.rowcount
