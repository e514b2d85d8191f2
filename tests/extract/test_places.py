"""Places: the location field, cities named in the text, and words that only look like cities."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_linear
from threadline.extract.places import Place, country_of_location, find_places, region_for, resolve_location


def mentions(text: str, location: str | None = None) -> list[str]:
    return [f.value for f in find_places([("body", text)], location)]


@pytest.mark.parametrize(
    ("location", "key"),
    [
        ("Houston", "Houston, TX, US"),
        ("Dallas, TX", "Dallas, TX, US"),
        ("Dallas TX", "Dallas, TX, US"),
        ("Houston Texas", "Houston, TX, US"),
        ("  Miami, FL  ", "Miami, FL, US"),
        ("Bronx, NY", "The Bronx, NY, US"),
        ("Brooklyn", "Brooklyn, NY, US"),
        ("Manhattan", "Manhattan, NY, US"),  # not Manhattan, Kansas
        ("new york city", "New York City, NY, US"),
        ("NYC", "New York City, NY, US"),
        ("London", "London, ENG, GB"),
        ("London, ON", "London, ON, CA"),
        ("Manchester, UK", "Manchester, ENG, GB"),
        ("Toronto, Ontario", "Toronto, ON, CA"),
        ("Sydney, NSW", "Sydney, NSW, AU"),
        ("Washington, DC", "Washington, DC, US"),
        ("St. Louis", "St. Louis, MO, US"),
        ("Saint Louis, MO", "St. Louis, MO, US"),
        ("St Paul, MN", "Saint Paul, MN, US"),
        ("Ft. Worth", "Fort Worth, TX, US"),
        ("Kansas City, MO", "Kansas City, MO, US"),
        ("Portland, OR", "Portland, OR, US"),
        ("Paris, TX", "Paris, TX, US"),
        ("Las Vegas, Nevada", "Las Vegas, NV, US"),
        ("Houston (Galleria)", "Houston, TX, US"),
        ("Galleria, Houston", "Houston, TX, US"),
        ("Atlanta - Midtown", "Atlanta, GA, US"),
        ("Montreal", "Montréal, QC, CA"),
        ("ＨＯＵＳＴＯＮ", "Houston, TX, US"),
        ("DC", "Washington, DC, US"),
        ("Vegas", "Las Vegas, NV, US"),
        ("Las Vegas Strip", "Las Vegas, NV, US"),  # a big city, then a part of it
    ],
)
def test_location_field(location: str, key: str) -> None:
    place = resolve_location(location)
    assert place is not None
    assert place.key == key


@pytest.mark.parametrize(
    "location",
    ["", "TX", "Texas", "xyzzy", "Houston, NY", "x" * 300, "Long Island, NY", "long island"],
)
def test_location_that_names_no_city(location: str) -> None:
    # A state alone names no city; a stated state that contradicts every candidate resolves nothing
    # rather than a city hundreds of miles away.
    assert resolve_location(location) is None


def test_place_record_and_region() -> None:
    place = resolve_location("Houston, TX")
    assert isinstance(place, Place)
    assert (place.city, place.region, place.country) == ("Houston", "TX", "US")
    assert 29 < place.lat < 30.5 and -96 < place.lon < -95
    assert place.geonameid > 0 and place.population > 1_000_000
    assert region_for(place) == "US"
    assert region_for(resolve_location("Manchester, UK")) == "GB"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("new in Dallas", ["Dallas, TX, US"]),
        ("NEW IN HOUSTON", ["Houston, TX, US"]),
        ("new in dallas", ["Dallas, TX, US"]),  # lower case: big cities only
        ("visiting Atlanta this week", ["Atlanta, GA, US"]),
        ("in town: Miami", ["Miami, FL, US"]),
        ("coming to Houston", ["Houston, TX, US"]),
        ("in New York", ["New York City, NY, US"]),
        ("in NYC", ["New York City, NY, US"]),
        ("in LA", ["Los Angeles, CA, US"]),
        ("in St. Louis", ["St. Louis, MO, US"]),
        ("Available in Kansas City", ["Kansas City, MO, US"]),
        ("visiting San Antonio, TX", ["San Antonio, TX, US"]),
        ("Mobile, AL", ["Mobile, AL, US"]),  # a word-like name, made safe by its state
        ("in Springfield, IL", ["Springfield, IL, US"]),
        ("Dallas, TX and Austin, TX", ["Dallas, TX, US", "Austin, TX, US"]),
    ],
)
def test_cities_named_in_text(text: str, expected: list[str]) -> None:
    assert mentions(f"Hi! {text}. Call now") == expected


@pytest.mark.parametrize(
    "text",
    [
        "in mobile",
        "in Mobile",
        "I am in Sandy",
        "Young and fresh",
        "in Orange",
        "in Nice",
        "Nice and sweet",
        "in la casa",
        "Best in town",
        "in the area",
        "near the Galleria",
        "within Dallas",  # no cue word
        "Dallas",  # no cue word
        "in Lufkin",  # a real city but under the population needed without a state
        "Reading, writing",
        "in van",
    ],
)
def test_words_that_only_look_like_cities(text: str) -> None:
    assert mentions(f"Hi! {text}. Call now") == []


def test_location_field_has_its_own_span_and_links_with_text() -> None:
    location = " Houston, TX"
    found = find_places([("body", "new in Houston")], location)
    assert [f.value for f in found] == ["Houston, TX, US"]
    spans = found[0].spans
    assert [(s.field, s.start, s.end) for s in spans] == [("location", 1, 12), ("body", 7, 14)]
    assert found[0].detail["source"] == "location"
    assert found[0].detail["lat"] == pytest.approx(29.76, abs=0.1)


def test_country_of_the_location_is_preferred_for_mentions() -> None:
    assert mentions("visiting Birmingham", "London") == ["London, ENG, GB", "Birmingham, ENG, GB"]
    assert mentions("visiting Birmingham", "Houston") == ["Houston, TX, US", "Birmingham, AL, US"]


def test_spans_point_at_the_original_text() -> None:
    text = "🌹 ｎｅｗ ｉｎ Ｄａｌｌａｓ 🌹"
    (found,) = find_places([("body", text)])
    assert text[found.spans[0].start : found.spans[0].end] == "Ｄａｌｌａｓ"


_CITIES = ["Dallas", "Houston", "Atlanta", "Miami", "Chicago", "Phoenix", "Denver", "Seattle", "Boston"]


@settings(max_examples=200, deadline=None)
@given(
    city=st.sampled_from(_CITIES),
    cue=st.sampled_from(["new in {}", "visiting {}", "in town: {}", "near {}", "touring {} now"]),
    case=st.sampled_from([str.title, str.upper, str.lower]),
)
def test_big_city_after_any_cue_in_any_case(city: str, cue: str, case: object) -> None:
    written = case(city)  # type: ignore[operator]
    text = "Hi! " + cue.format(written) + ". Text me"
    found = find_places([("body", text)])
    assert [f.value.split(",")[0] for f in found] == [city]
    assert text[found[0].spans[0].start : found[0].spans[0].end] == written


def test_lookups_are_constant_time() -> None:
    resolve_location("Houston")  # loads the gazetteer once
    ads = [[("body", f"new in Dallas, visiting Atlanta #{i}")] for i in range(2000)]
    t0 = time.perf_counter()
    for texts in ads:
        find_places(texts, "Houston, TX")
    per_ad = (time.perf_counter() - t0) / len(ads)
    assert per_ad < 1e-3  # measured ~30 µs; the bound leaves room for slow machines


_HOSTILE = {
    "digits": "7" * 1_000_000,
    "at-signs": "@" * 1_000_000,
    "at-words": "at " * 333_333,
    "spaced-dots": ". " * 500_000,
    "cue-words": "in " * 333_333,
    "mentions": "in Dallas " * 100_000,
    "city-state": "Aaaa Bbbb, TX " * 71_428,
    "capitals": "Aaaa " * 200_000,
    "separators": ". . " * 250_000,
    "one-letter": "a" * 1_000_000,
    "emoji": "🌹ab" * 333_333,
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(_HOSTILE))
def test_hostile_megabyte_is_fast_and_linear(kind: str) -> None:
    resolve_location("Houston")  # the gazetteer load is not part of the measurement
    text = _HOSTILE[kind]
    assert_linear(lambda t: find_places([("body", t)], None), text)


@pytest.mark.parametrize(
    ("location", "city"),
    [("Midtown, NY", "New York City"), ("Paddington", "London"), ("Central London", "London")],
)
def test_parts_of_cities_resolve_to_their_city(location: str, city: str) -> None:
    place = resolve_location(location)
    assert place is not None and place.city == city


@pytest.mark.parametrize(
    ("location", "country"),
    [
        ("Long Island, NY", "US"),
        ("East St. Louis, IL", "US"),
        ("Paddington", "GB"),
        ("TX", "US"),
        ("xyzzy", None),
    ],
)
def test_country_of_a_location_without_a_city(location: str, country: str | None) -> None:
    assert country_of_location(location) == country
