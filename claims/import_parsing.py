"""Reading a bulk-import body (design.md §3.1) as a stream of records, with bounded memory: a
100,000-row CSV or JSON array is never held whole, only the record being read. Pure Python: no
ORM, so it is tested exhaustively without a database.

CSV: a header row; nested fields flattened with `__` (`claimant__nhs_number`); an empty cell is
absent. Values stay strings here; the record specs (claims.import_records) coerce them, so a
CSV row and the same JSON record give the same result.
"""

import codecs
import csv
import json
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO, Any

CHUNK_BYTES = 256 * 1024
# A record longer than this is malformed, not merely long; without a cap an unclosed brace
# early on would pull the whole body into memory looking for its end.
MAX_RECORD_CHARS = 1_000_000


class BodyError(ValueError):
    """The body as a whole cannot be read (not a row's fault): a 400 with this code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def text_chunks(chunks: Iterable[bytes]) -> Iterator[str]:
    """Decode UTF-8 (a leading byte-order mark allowed) across chunk boundaries."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for chunk in chunks:
            text = decoder.decode(chunk)
            if text:
                yield text
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise BodyError("invalid_encoding", f"The body is not UTF-8: {error.reason}.") from None
    if tail:
        yield tail


def file_chunks(stream: IO[bytes], size: int = CHUNK_BYTES) -> Iterator[bytes]:
    while chunk := stream.read(size):
        yield chunk


class _Lines:
    """A file-like view of text chunks for csv.reader, which wants lines."""

    def __init__(self, texts: Iterator[str]) -> None:
        self._texts = texts
        self._buffer = ""

    def __iter__(self) -> Iterator[str]:
        for text in self._texts:
            self._buffer += text
            *lines, self._buffer = self._buffer.split("\n")
            for line in lines:
                yield line + "\n"
        if self._buffer:
            yield self._buffer


def _unflatten(header: list[str], cells: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, value in zip(header, cells, strict=False):
        if value == "":
            continue  # design.md §3.1: an empty cell is absent
        *parents, leaf = name.split("__")
        target = record
        for parent in parents:
            child = target.setdefault(parent, {})
            if not isinstance(child, dict):
                raise BodyError(
                    "invalid_csv", f"Column {name!r} nests under {parent!r}, also a value."
                )
            target = child
        target[leaf] = value
    return record


def csv_records(
    chunks: Iterable[bytes], *, count_only: bool = False
) -> Iterator[tuple[int, dict[str, Any] | None]]:
    """(row number from 0, record) for each data row of a CSV body. `count_only`: the records
    are not built (None instead) where building them could not fail, that is unless a column is
    both a value and the parent of another ("a" and "a__b"): counting a 100,000-row body then
    costs the CSV reader's time only."""
    reader = csv.reader(_Lines(text_chunks(chunks)), strict=True)
    try:
        header = next(reader, None)
        if not header or not any(name.strip() for name in header):
            raise BodyError("invalid_csv", "The CSV body needs a header row naming the fields.")
        header = [name.strip() for name in header]
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise BodyError("invalid_csv", f"Header names a column twice: {', '.join(repeated)}.")
        parents = {
            "__".join(parts[:depth])
            for parts in (name.split("__") for name in header)
            for depth in range(1, len(parts))
        }
        counting = count_only and not parents & set(header)
        row = 0
        for cells in reader:
            if not cells or all(cell == "" for cell in cells):
                continue  # blank lines carry no record
            if counting:
                record = None
            elif len(cells) > len(header):
                record = {"__extra_cells__": len(cells) - len(header)}
                record.update(_unflatten(header, cells[: len(header)]))
            else:
                record = _unflatten(header, cells)
            yield row, record
            row += 1
    except csv.Error as error:
        raise BodyError(
            "invalid_csv", f"CSV unreadable near line {reader.line_num}: {error}."
        ) from None


_WHITESPACE = " \t\r\n"


def json_records(chunks: Iterable[bytes]) -> Iterator[tuple[int, Any]]:
    """(row number from 0, element) for each element of a top-level JSON array, decoding one
    element at a time so memory holds one record, not the body."""
    # Decimals, not floats: an amount of money must arrive exactly as it was sent.
    decoder = json.JSONDecoder(parse_float=Decimal)
    texts = text_chunks(chunks)
    buffer, position, exhausted = "", 0, False

    def fill() -> bool:
        nonlocal buffer, position, exhausted
        if exhausted:
            return False
        text = next(texts, None)
        if text is None:
            exhausted = True
            return False
        buffer, position = buffer[position:] + text, 0
        return True

    def skip_space() -> str | None:
        nonlocal position
        while True:
            while position < len(buffer) and buffer[position] in _WHITESPACE:
                position += 1
            if position < len(buffer):
                return buffer[position]
            if not fill():
                return None

    if skip_space() != "[":
        raise BodyError("not_an_array", "The JSON body must be an array of records: [{...}, ...].")
    position += 1
    row = 0
    if skip_space() == "]":
        position += 1
    else:
        while True:
            if skip_space() is None:
                raise BodyError("invalid_json", "The JSON array is not closed.")
            while True:
                try:
                    element, end = decoder.raw_decode(buffer, position)
                except (RecursionError, ValueError) as error:
                    if not isinstance(error, json.JSONDecodeError):
                        # Nested too deep, or a number too long to be one: not a record.
                        raise BodyError(
                            "invalid_json", f"Record {row} is not valid JSON: {error}."[:300]
                        ) from None
                    # The element may run on into the next chunk: read more and try again.
                    if len(buffer) - position <= MAX_RECORD_CHARS and fill():
                        continue
                    raise BodyError(
                        "invalid_json", f"Record {row} is not valid JSON: {error.msg}."
                    ) from None
                # A number or word cut at a chunk edge decodes early; make sure it ended.
                if end == len(buffer) and not isinstance(element, dict | list | str) and fill():
                    continue
                break
            position = end
            yield row, element
            row += 1
            separator = skip_space()
            if separator == ",":
                position += 1
                continue
            if separator == "]":
                position += 1
                break
            raise BodyError("invalid_json", f"Expected , or ] after record {row - 1}.")
    if skip_space() is not None:
        raise BodyError("invalid_json", "Text follows the end of the JSON array.")


CSV_TYPES = ("text/csv", "application/csv")
JSON_TYPES = ("application/json",)


def body_format(content_type: str) -> str:
    """'csv' or 'json' from a Content-Type header; anything else is refused."""
    media = content_type.split(";")[0].strip().lower()
    if media in CSV_TYPES:
        return "csv"
    if media in JSON_TYPES or media.endswith("+json"):
        return "json"
    raise BodyError(
        "unsupported_media_type",
        f"Send application/json or text/csv, not {media or 'no Content-Type'}.",
    )


def records(
    content_type: str, chunks: Iterable[bytes], *, count_only: bool = False
) -> Iterator[tuple[int, Any]]:
    """The body's records; with `count_only`, as few of them built as counting them needs."""
    if body_format(content_type) == "csv":
        return csv_records(chunks, count_only=count_only)
    return json_records(chunks)
