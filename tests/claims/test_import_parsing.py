"""Reading bulk-import bodies (claims.import_parsing): pure, no database."""

import pytest

from claims.import_parsing import BodyError, csv_records, records


def _chunks(text: str, size: int = 7):
    data = text.encode()
    return [data[i : i + size] for i in range(0, len(data), size)]


BODY = 'external_ref,claimant__name\nA,"Ada, Countess"\n\nB,"Alan\nTuring"\n,\nC,Grace\n'


def test_counting_finds_the_rows_reading_finds_without_building_them():
    read = list(csv_records(_chunks(BODY)))
    counted = list(csv_records(_chunks(BODY), count_only=True))
    assert [row for row, _ in read] == [row for row, _ in counted] == [0, 1, 2]
    assert read[1][1] == {"external_ref": "B", "claimant": {"name": "Alan\nTuring"}}
    assert {record for _, record in counted} == {None}


def test_counting_a_body_whose_columns_can_clash_still_finds_the_clash():
    clashing = "claimant,claimant__name\nyes,Ada\n"
    with pytest.raises(BodyError, match="nests under"):
        list(csv_records(_chunks(clashing), count_only=True))


def test_counting_json_reads_each_record():
    body = '[{"external_ref": "A"}, {"external_ref": "B"}]'
    assert [row for row, _ in records("application/json", _chunks(body), count_only=True)] == [
        0,
        1,
    ]
