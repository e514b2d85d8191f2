"""The shared records (`threadline.model`) cross process boundaries whole."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime

import pytest

from threadline.ingest._work import Outcome
from threadline.model import Ad, Extraction, Found, Span, pickled_by_fields
from threadline.store import PackedExtraction


def _records() -> list[object]:
    # Every field away from its default, so a field the pickle forgot would come back different.
    ad = Ad(
        source="site",
        id="a1",
        title="Sweet Kim",
        body="Call (713) 555-0142",
        url="https://example.org/a1",
        posted_at=datetime(2024, 5, 1, 21, 30, tzinfo=UTC),
        captured_at=datetime(2024, 5, 2, 8, 0, tzinfo=UTC),
        location="Houston, TX",
        images=("/corpus/a1-0.png",),
        fields={"age": "23"},
        extra={"rank": 3},
    )
    span = Span("body", 5, 19)
    found = Found("phone", "+17135550142", (span,), {"obfuscated": False})
    image = Found("image", "ab" * 32, (Span("images[0]", 0, 0),), {"pdq": "f0" * 32})
    extraction = Extraction("site", "a1", (found, image), "US")
    packed = PackedExtraction.of(extraction)
    return [ad, span, found, extraction, packed, Outcome("h1", ("ab" * 32,), packed, "an error")]


@pytest.mark.parametrize("record", _records(), ids=lambda r: type(r).__name__)
def test_a_record_comes_back_from_a_pickle_equal_field_by_field(record: object) -> None:
    back = pickle.loads(pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))
    assert type(back) is type(record) and back == record
    for field in dataclasses.fields(record):  # type: ignore[arg-type]
        assert getattr(back, field.name) == getattr(record, field.name)


def test_a_packed_extraction_keeps_each_find_span_and_image() -> None:
    found = Found("phone", "+17135550142", (Span("body", 5, 19), Span("title", 0, 3)), {"how": "words"})
    notice = Found("notice", "field_cut", (), {})
    image = Found("image", "cd" * 32, (Span("images[2]", 0, 0),), {"pdq": "f0" * 32})
    packed = PackedExtraction.of(Extraction("site", "a1", (found, notice, image), "GB"))
    assert packed.region == "GB"
    assert packed.rows == (
        (0, 0, "phone", "+17135550142", "body", 5, 19, '{"how":"words"}'),
        (0, 1, "phone", "+17135550142", "title", 0, 3, '{"how":"words"}'),
        (1, 0, "notice", "field_cut", None, None, None, "{}"),
        (2, 0, "image", "cd" * 32, "images[2]", 0, 0, '{"pdq":"' + "f0" * 32 + '"}'),
    )
    assert packed.images == ((2, "cd" * 32, {"pdq": "f0" * 32}),)


def test_a_record_of_one_field_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class One:
        value: int

    with pytest.raises(TypeError, match="two fields"):
        pickled_by_fields(One)
