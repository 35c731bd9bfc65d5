"""pipeline.dates: what a feed, a page or a cluster input line may claim as a date. A field out
of range or a UTC offset beyond ±14 hours makes a date impossible (unknown, never shifted)."""

from __future__ import annotations

import pytest

from pipeline.dates import impossible_date, valid_offset


@pytest.mark.parametrize(
    "written",
    [
        "Tue, 10 Jun 2025 12:00:00 +9999",
        "Tue, 10 Jun 2025 12:00:00 -1401",
        "Tue, 10 Jun 2025 12:00:00 +0060",
        "2025-06-10T12:00:00+14:30",
        "2025-06-10T12:00:00+99:99",
        "2025-13-10T12:00:00Z",
        "2025-02-29",  # not a leap year
        "2025-06-31",
        "2025-06-10 24:00",
        "2025-06-10T12:61:00Z",
    ],
)
def test_out_of_range_fields_and_offsets_are_impossible(written: str) -> None:
    assert impossible_date(written)


@pytest.mark.parametrize(
    "written",
    [
        "Tue, 10 Jun 2025 12:00:00 +1400",
        "Tue, 10 Jun 2025 12:00:00 -1200",
        "Tue, 10 Jun 2025 12:00:00 GMT",
        "2025-06-10T12:00:00+05:30",
        "2025-06-10T12:00:00.123+02:00",
        "2025-06-10T23:59:60Z",  # a leap second
        "2024-02-29",
        "2025-06-10",
        "yesterday",  # other formats are left to the parsers
    ],
)
def test_possible_dates_and_other_formats_are_not(written: str) -> None:
    assert not impossible_date(written)


@pytest.mark.parametrize(
    ("hours", "minutes", "valid"),
    [
        (None, None, True),  # no offset written
        ("14", "00", True),
        ("14", "01", False),
        ("05", "60", False),
        ("00", "00", True),
    ],
)
def test_valid_offset(hours: str | None, minutes: str | None, valid: bool) -> None:
    assert valid_offset(hours, minutes) is valid
