"""Bulk reads and writes for the few places that handle tens of thousands of rows at once
(re-routing, imports, deadlines): PostgreSQL COPY, or one INSERT/UPDATE over unnest()ed arrays,
which skip building a model instance per row and cost one statement however many rows there are,
and `AnyOf` for batches of ids; other databases (the SQLite demo) fall back to bulk_create,
bulk_update and IN."""

import contextlib
import datetime
import json
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.lookups import In


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_literal(values: Sequence[Any]) -> str | None:
    """`values` as the text of a PostgreSQL array (`{1,2,3}`, `{"ELGP","MDU,NHSR"}`), made with
    one join. psycopg quotes an array parameter element by element in Python (a regular
    expression per string), and for the 2,000-element arrays of a batch that cost more than
    the statement they fed (measured by make bench). Integers, booleans, UUIDs or strings, all
    of one kind; None for anything else (a null among them, say), which the caller then sends
    as a list."""
    if not values:
        return "{}"
    kinds = set(map(type, values))
    if kinds == {int} or kinds == {uuid.UUID}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds == {bool}:
        return "{" + ",".join("t" if value else "f" for value in values) + "}"
    if kinds == {str}:
        return "{" + ",".join(map(_quoted, values)) + "}"
    return None


class AnyOf(In):
    """`AnyOf(F("field"), values)` in a filter: `field IN values`, sent on PostgreSQL as one array
    (`field = ANY(%s)`), which for the thousands of ids of a batch costs a fraction of a
    placeholder each. Integer ids also bound the column by their least and greatest:
    PostgreSQL estimates a range well and walks the index, where for `= ANY` of 2,000 ids it
    would read the whole table (30 ms against 2 ms a batch on 100,000 segments). Text is not
    bounded so: Python and the database collation may order it differently. Elsewhere a plain
    IN."""

    def get_prep_lookup(self):
        # Ids are ints already: preparing thousands of them one by one through the field costs
        # more than the query.
        if isinstance(self.rhs, list | tuple | set | frozenset) and set(map(type, self.rhs)) == {
            int
        }:
            return list(self.rhs)
        return super().get_prep_lookup()

    def as_postgresql(self, compiler, connection):
        if hasattr(self.rhs, "as_sql"):  # a subquery: PostgreSQL plans it as one, as for IN
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = [value for value in self.rhs if value is not None]
        if not values:
            return "FALSE", ()
        literal = array_literal(values)
        if literal is None:
            return f"{lhs} = ANY(%s)", (*lhs_params, values)
        any_of = f"{lhs} = ANY(%s::{self.lhs.output_field.db_type(connection)}[])"
        if type(values[0]) is not int:
            return any_of, (*lhs_params, literal)
        return (
            f"({any_of} AND {lhs} BETWEEN %s AND %s)",
            (*lhs_params, literal, *lhs_params, min(values), *lhs_params, max(values)),
        )


def values_of(queryset: models.QuerySet) -> list[tuple]:
    """The rows of a values_list() queryset as plain tuples, fetched in one call: for batches of
    thousands of rows Django's row-by-row iterator costs more than the query. Only for columns
    that need no conversion on the way out (integers, text, dates, booleans, UUIDs)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def json_text(value: Any) -> str | None:
    return None if value is None else json.dumps(value, separators=(",", ":"), default=str)


def _instances(
    model: type[models.Model], columns: Sequence[str], rows: list[Sequence[Any]]
) -> list[models.Model]:
    """Model instances of rows given as values (JSON as text), for databases without COPY."""
    json_columns = {
        f.attname for f in model._meta.concrete_fields if isinstance(f, models.JSONField)
    }
    return [
        model(
            **{
                column: json.loads(value) if column in json_columns and value is not None else value
                for column, value in zip(columns, row, strict=True)
            }
        )
        for row in rows
    ]


def copy_into(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert `rows` (values in `columns` order, JSON already as text) into `model`'s table."""
    rows = list(rows)
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        model.objects.bulk_create(_instances(model, columns, rows), batch_size=2000)
        return len(rows)
    with _copying(model, columns, len(rows)) as copy:
        for row in rows:
            copy.write_row(row)
    return len(rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_COPY_UNESCAPES = {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}


def copy_text(value: Any) -> str:
    """`value` as one field of PostgreSQL COPY's text format, for copy_lines. Called for every
    field of every row a bulk import writes (close to a million for 10,000 claims), so the
    common kinds come first and a string is escaped only when it holds something to escape."""
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.translate(_COPY_ESCAPES)
        return value
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is int:
        return str(value)
    if isinstance(value, datetime.date):  # a datetime too
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


def copy_lines(model: type[models.Model], columns: Sequence[str], lines: Iterable[str]) -> int:
    """Insert rows given as lines of COPY's text format: fields made by copy_text, joined by
    tabs, each line ending in a newline. Where most fields of a batch's rows are the same (its
    decision date, cause and actor; a ruling shared by a thousand claims), the caller formats
    them once, which costs a fifth of formatting every field of every row (measured by make
    bench)."""
    lines = list(lines)
    if not lines:
        return 0
    if connection.vendor != "postgresql":
        rows = [[_copy_value(field) for field in line[:-1].split("\t")] for line in lines]
        model.objects.bulk_create(_instances(model, columns, rows), batch_size=2000)
        return len(lines)
    with _copying(model, columns, len(lines)) as copy:
        for start in range(0, len(lines), 5000):
            copy.write("".join(lines[start : start + 5000]))
    return len(lines)


def _copy_value(field: str) -> str | None:
    if field == "\\N":
        return None
    return re.sub(r"\\(.)", lambda m: _COPY_UNESCAPES.get(m.group(1), m.group(1)), field)


@contextlib.contextmanager
def _copying(model: type[models.Model], columns: Sequence[str], count: int):
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    statement = f"COPY {table} ({names}) FROM STDIN"
    started = time.monotonic()
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        yield copy
    if connection.queries_logged:
        # COPY bypasses Django's cursor wrapper; logged by hand so that query-count tests and the
        # benchmark count it like any other statement.
        connection.queries_log.append(
            {"sql": f"{statement} -- {count} rows", "time": f"{time.monotonic() - started:.3f}"}
        )


def copy_new(
    model: type[models.Model], columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[int]:
    """Insert new rows and return their ids, in the rows' order. On PostgreSQL the ids are
    taken from the table's sequence in one query and the rows sent by COPY, which costs less
    than an INSERT that returns them."""
    rows = list(rows)
    if not rows:
        return []
    if connection.vendor != "postgresql":
        created = model.objects.bulk_create(_instances(model, columns, rows), batch_size=2000)
        return [obj.pk for obj in created]
    ids = ids_allocate(model, len(rows))
    with _copying(model, (model._meta.pk.column, *columns), len(rows)) as copy:
        for id_, row in zip(ids, rows, strict=True):
            copy.write_row((id_, *row))
    return ids


def ids_allocate(model: type[models.Model], count: int) -> list[int]:
    """`count` new ids for rows of `model` about to be written with them, in one query: taken
    from the table's sequence on PostgreSQL, so no other writer can take them; on SQLite (the
    demo) from its sequence table."""
    if count == 0:
        return []
    table, pk = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence looked up once (a MATERIALIZED row), not once per id: a fifth of the
            # cost for thousands of ids.
            cursor.execute(
                "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, %s)::regclass AS seq) "
                "SELECT nextval(s.seq) FROM s, generate_series(1, %s) ORDER BY 1",
                [table, pk, count],
            )
            return [row[0] for row in cursor.fetchall()]
        # One statement that moves the sequence on and returns where it ended, so no one else
        # can take the same numbers. SQLite keeps it at or above the highest id written.
        cursor.execute(
            "UPDATE sqlite_sequence SET seq = seq + %s WHERE name = %s RETURNING seq",
            [count, table],
        )
        found = cursor.fetchone()
        if found is None:
            cursor.execute(
                "INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s) RETURNING seq",
                [table, count],
            )
            found = cursor.fetchone()
        return list(range(found[0] - count + 1, found[0] + 1))


def _array_types(model: type[models.Model], columns: Sequence[str]) -> list[str]:
    """Each column's array type, without a varchar length: an explicit cast to varchar(n)
    would cut an over-long value silently, where the column itself refuses it."""
    fields = [model._meta.get_field(column) for column in columns]
    return [
        re.sub(r"^varchar\(\d+\)$", "varchar", field.db_type(connection)) + "[]" for field in fields
    ]


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
    key = f"{table}.{quote(columns[0])}"
    values = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        # The key range lets the planner reach the rows by the primary key's index instead of
        # reading the whole table to join it with the array.
        cursor.execute(
            f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS new({names}) "
            f"WHERE {key} = new.{quote(columns[0])} AND {key} BETWEEN %s AND %s",
            [*values, min(values[0]), max(values[0])],
        )
        return cursor.rowcount


@contextlib.contextmanager
def constraints_checked_per_statement():
    """Within a transaction, check foreign keys as each statement ends instead of at commit.
    Django declares them DEFERRABLE INITIALLY DEFERRED, and PostgreSQL then queues one event per
    row written and replays them all at commit: for the hundreds of thousands of rows of a
    large import that queue cost more than checking each COPY as it finishes (0.66 s against
    0.04 s at commit for 10,000 claims, measured by make bench). A rollback to the enclosing
    savepoint undoes the setting by itself; on success it is set back for the rest of the
    transaction."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")


def statistics_refresh(models_written: Sequence[type[models.Model]], *, changed: int) -> list[str]:
    """ANALYZE the tables of `models_written` when `changed` records of the first of them (the
    others hold those records' parts) are a tenth or more of the rows its statistics last
    counted (none, if never analysed): what autovacuum would do once it came round, done as
    soon as a bulk write ends, so that the pages planned from those statistics are not planned
    blind meanwhile. Returns the tables analysed; PostgreSQL only."""
    if connection.vendor != "postgresql" or changed <= 0 or not models_written:
        return []
    tables = [model._meta.db_table for model in models_written]
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [tables[0]])
        counted = max(cursor.fetchone()[0], 0)
        if changed * 10 < counted:
            return []
        for table in tables:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return tables
