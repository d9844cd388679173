"""Reading a cohort CSV: every problem of every row is reported, nothing is guessed."""

from __future__ import annotations

from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.application import cohort_csv
from ledger.errors import InvalidInput


def problems_by_row(text: str) -> dict[int, list[str]]:
    return {p["row"]: p["problems"] for p in cohort_csv.parse(text).report()["problems"]}


def test_the_template_is_a_valid_cohort() -> None:
    cohort = cohort_csv.parse(cohort_csv.TEMPLATE)
    assert cohort.ok and len(cohort.rows) == 2
    second = cohort.rows[1].order
    assert second is not None and second.result == {"grade": "7"}
    assert second.evidence == ("https://portfolio.example/work-2",)


def test_every_kind_of_problem_is_named_on_its_row() -> None:
    text = (
        "learner_subject,valid_from,valid_until,result.grade,evidence\n"
        "ok-1,,,8,\n"
        ",,,7,\n"  # row 3: missing subject
        "has space,,,7,\n"  # row 4: bad subject
        "ok-2,yesterday,,7,\n"  # row 5: bad date
        "ok-3,2026-01-01T00:00:00,,7,\n"  # row 6: no time zone
        "ok-4,2026-02-01T00:00:00+00:00,2026-01-01T00:00:00+00:00,7,\n"  # row 7: ends first
        "ok-1,,,9,\n"  # row 8: duplicate of row 2
        "ok-5,,,7,ftp://x\n"  # row 9: bad evidence
        "ok-6,,,7,,extra\n"  # row 10: too many values
        "\n"
    )
    found = problems_by_row(text)
    assert set(found) == {3, 4, 5, 6, 7, 8, 9, 10}
    assert found[3] == ["missing learner_subject"]
    assert "bad learner_subject" in found[4][0]
    assert "not an ISO 8601 instant" in found[5][0]
    assert "time zone" in found[6][0]
    assert "after valid_from" in found[7][0]
    assert found[8] == ["duplicate learner: the same subject as row 2"]
    assert "evidence" in found[9][0]
    assert "6 values for 5 columns" in found[10][0]


def test_unknown_and_missing_columns_are_header_problems() -> None:
    cohort = cohort_csv.parse("name,grade\nalice,8\n")
    report = cohort.report()
    assert not cohort.ok
    assert any("missing column 'learner_subject'" in p for p in report["header_problems"])
    assert any("unknown column 'grade'" in p for p in report["header_problems"])
    assert any("unknown column 'name'" in p for p in report["header_problems"])
    assert report["problems"][0]["problems"] == ["missing learner_subject"]


def test_learners_who_hold_the_achievement_are_named() -> None:
    achievement = uuid4()
    ids = {"alice": uuid4(), "bob": uuid4()}
    cohort = cohort_csv.dry_run(
        "learner_subject\nalice\nbob\n",
        achievement_id=achievement,
        holders=lambda a: {str(ids["bob"])} if a == achievement else set(),
        learner_ids_of=lambda subjects: [ids[s] for s in subjects],
    )
    assert cohort.report()["problems"] == [
        {"row": 3, "problems": ["this learner already holds this achievement"]}
    ]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"learner_subject\nalice\x00\n", "NUL"),
        (b"\xff\xfe\x00l", "UTF-8"),
    ],
)
def test_files_that_are_not_csv_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        cohort_csv.parse(cohort_csv.decode(data))


def test_a_spreadsheet_byte_order_mark_is_dropped() -> None:
    cohort = cohort_csv.parse(cohort_csv.decode("\ufefflearner_subject\r\nalice\r\n".encode()))
    assert cohort.ok and cohort.rows[0].subject == "alice"


subjects = st.text(
    alphabet=st.characters(
        min_codepoint=33,
        max_codepoint=0x2FFF,
        exclude_characters=',"',
        exclude_categories=("Zs", "Zl", "Zp", "Cc", "Cf", "Cs"),
    ),
    min_size=1,
    max_size=30,
)


@given(st.lists(subjects, min_size=1, max_size=30))
def test_rows_keep_their_order_and_each_duplicate_is_reported(names: list[str]) -> None:
    text = "learner_subject\r\n" + "".join(f"{n}\r\n" for n in names)
    cohort = cohort_csv.parse(text)
    stripped = [n.strip() for n in names]
    assert [r.subject for r in cohort.rows] == stripped
    duplicates = len(stripped) - len(set(stripped))
    bad = [r for r in cohort.rows if any("duplicate" in p.text for p in r.problems)]
    assert len(bad) == duplicates
    assert cohort.ok == (
        duplicates == 0 and all(s and not any(c.isspace() for c in s) for s in stripped)
    )
