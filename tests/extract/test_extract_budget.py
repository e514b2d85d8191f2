"""The work budget of `extract_ad`: long fields are cut and say so; random noise stays linear and bounded."""

from __future__ import annotations

import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linearity import assert_drawn_linear, best_time_of
from threadline.extract import contract_record, extract_ad
from threadline.extract.text import MAX_AD_CHARS, MAX_FIELD_CHARS, within_budget
from threadline.model import Ad, Extraction

_AD = "Hi, I'm Mia, 24yo, new in Dallas TX. Call 713-555-0142 or snap: ruby_lane. 150 roses hh 💋\n"
_FILLER = "sweet and discreet, upscale and classy. "


def _cut_notices(ex: Extraction) -> list[dict[str, object]]:
    return [f.detail for f in ex.of_kind("notice") if f.value == "field_cut"]


def _assert_spans_valid(ad: Ad, ex: Extraction) -> None:
    for f in ex.found:
        for span in f.spans:
            if span.field.startswith("images["):
                continue
            assert 0 <= span.start <= span.end <= len(ad.text(span.field)), (f, span)


def test_a_realistic_ad_is_read_whole() -> None:
    body = (_AD + _FILLER * 60) * 3  # several times longer than any real ad, still under the limit
    assert len(body) < MAX_FIELD_CHARS
    ad = Ad("site", "1", title="New in town", body=body, fields={"phone": "(713) 555-0199"})
    ex = extract_ad(ad, images=False)
    assert ex.of_kind("notice") == []
    assert within_budget(ad.texts()) == (list(ad.texts()), [])
    assert set(ex.values("phone")) == {"+17135550142", "+17135550199"}
    # The last sighting, near the end of the body, is read too.
    spans = next(f.spans for f in ex.found if f.value == "+17135550142")
    assert len(spans) == 3 and spans[-1].start == body.rindex("713-555-0142")


def test_a_field_at_the_limit_is_not_cut() -> None:
    tail = " call 7135550142"
    body = "x" * (MAX_FIELD_CHARS - len(tail)) + tail
    assert len(body) == MAX_FIELD_CHARS
    ex = extract_ad(Ad("site", "1", body=body), images=False)
    assert ex.of_kind("notice") == []
    assert ex.values("phone") == ["+17135550142"]


def test_a_long_field_is_cut_and_the_evidence_says_so() -> None:
    head = _AD + _FILLER * (MAX_FIELD_CHARS // len(_FILLER))
    body = head + "Call 212-555-0188 " + _FILLER * 2_000  # the second number lies past the limit
    assert len(head) > MAX_FIELD_CHARS
    ad = Ad("site", "1", title="Mia 646-555-0111", body=body)
    ex = extract_ad(ad, images=False)
    (notice,) = _cut_notices(ex)
    read = notice["read"]
    assert isinstance(read, int) and read <= MAX_FIELD_CHARS
    assert notice == {
        "field": "body",
        "read": read,
        "length": len(body),
        "reason": f"field cut for extraction at {read:,} characters of {len(body):,} "
        f"(limit {MAX_FIELD_CHARS:,} characters per field)",
    }
    # The cut falls on a space, so no word is split; its span is the part not read.
    assert body[read].isspace() and not body[read - 1].isspace()
    (span,) = ex.of_kind("notice")[0].spans
    assert (span.field, span.start, span.end) == ("body", read, len(body))
    # What was read is extracted as before, every span inside what was read, pointing at its text.
    assert ex.values("phone") == ["+16465550111", "+17135550142"]
    phone = ex.of_kind("phone")[1]
    assert [s.text_of(ad) for s in phone.spans] == ["713-555-0142"]
    assert ex.values("handle") == ["snapchat:ruby_lane"]
    _assert_spans_valid(ad, ex)
    for f in ex.found:
        if f.kind != "notice":
            assert all(s.end <= read for s in f.spans if s.field == "body"), f
    # The title is unaffected.
    assert [s.text_of(ad) for s in ex.of_kind("phone")[0].spans] == ["646-555-0111"]


def test_the_cut_is_shown_in_the_extract_evidence() -> None:
    body = _AD + "7 " * MAX_FIELD_CHARS
    record = contract_record(extract_ad(Ad("site", "1", body=body), images=False))
    evidence = record["evidence"]
    assert isinstance(evidence, list)
    (notice,) = [e for e in evidence if e["kind"] == "notice"]
    assert notice["value"] == "field_cut" and notice["field"] == "body"
    assert notice["length"] == len(body) and notice["read"] <= MAX_FIELD_CHARS
    assert notice["spans"] == [{"field": "body", "start": notice["read"], "end": len(body)}]
    assert "+17135550142" in record["phones"]
    assert "notice" not in record  # the output contract's keys are unchanged


def test_a_cut_with_no_space_near_the_limit_falls_at_the_limit() -> None:
    body = "🌹" * (MAX_FIELD_CHARS + 10)
    texts, notices = within_budget([("body", body)])
    assert texts == [("body", body[:MAX_FIELD_CHARS])]
    assert notices[0].detail["read"] == MAX_FIELD_CHARS


def test_an_ad_is_read_up_to_its_own_budget() -> None:
    big = "x " * MAX_FIELD_CHARS
    fields = {"a": big, "b": big, "c": "call 7135550142"}
    ad = Ad("site", "1", title="Mia", body=big, fields=fields)
    texts, notices = within_budget(ad.texts())
    assert sum(len(t) for _, t in texts) <= MAX_AD_CHARS
    assert [n.detail["field"] for n in notices] == ["body", "fields.a", "fields.b", "fields.c"]
    assert notices[1].detail["read"] < MAX_FIELD_CHARS  # what the title and body left
    assert "per ad" in notices[1].detail["reason"]
    assert notices[-1].detail["read"] == 0 and "fields.c" not in dict(texts)
    ex = extract_ad(ad, images=False)
    assert len(_cut_notices(ex)) == 4 and ex.values("phone") == []
    _assert_spans_valid(ad, ex)


# --- Random hostile mixtures -------------------------------------------------------------------

_POOLS = {
    "spelled": "zero one two three four five six seven eight nine oh o l i double triple uno dos".split(),
    "digits": [*"0123456789", "713", "555", "0142", "44", "00"],
    "separators": [" ", " ", "-", ".", "(", ")", "/", "+", ", ", "\n", "_", ":", "  -  "],
    "letters": "a x Mia call text new in Dallas TX hh yo roses $ I'm".split(),
    "emoji": ["💋", "🌹", "7️⃣", "1️⃣", "３", "𝟕", "⑦", "\u200b", "\u200d", "👻", "❤️"],
    "addresses": "at @ [at] dot . (dot) com gmail ig snap: t.me/ ruby_lane".split(),
}

# A mixture: a weight for each pool (at least one not zero), the chance of a space after a token,
# and the seed that draws its tokens.
_MIXTURES = st.tuples(
    st.lists(st.integers(0, 5), min_size=len(_POOLS), max_size=len(_POOLS)).filter(any),
    st.sampled_from([0.0, 0.3, 0.6, 1.0]),
    st.integers(0, 2**32 - 1),
)


def _noise(mixture: tuple[list[int], float, int], size: int, draw: int = 0) -> str:
    """``size`` characters of ``mixture``; each ``draw`` is another text of the same mixture."""
    weights, spaced, seed = mixture
    rng = random.Random(f"{seed}:{draw}")
    pools = list(_POOLS.values())
    out: list[str] = []
    n = 0
    while n < size:
        token = rng.choice(rng.choices(pools, weights)[0])
        out.append(token)
        n += len(token)
        if rng.random() < spaced:
            out.append(" ")
            n += 1
    return "".join(out)[:size]


def _extract_body(text: str) -> Extraction:
    return extract_ad(Ad("bench", "1", body=text), images=False)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True)
@given(_MIXTURES)
def test_random_noise_up_to_the_limit_is_linear(mixture: tuple[list[int], float, int]) -> None:
    # Up to the limit: every extractor reads all of it.
    assert_drawn_linear(_extract_body, lambda size, i: _noise(mixture, size, i), MAX_FIELD_CHARS)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, derandomize=True)
@given(_MIXTURES)
def test_a_noisy_megabyte_costs_what_the_limit_costs(mixture: tuple[list[int], float, int]) -> None:
    # Every try a new text of the mixture, so that no try finds the work of another in a cache.
    t_limit = best_time_of(_extract_body, [_noise(mixture, MAX_FIELD_CHARS, i) for i in range(3)])
    megabytes = [_noise(mixture, 1_000_000, i) for i in range(3, 6)]
    t_huge = best_time_of(_extract_body, megabytes)
    assert t_huge < 3 * t_limit, (t_limit, t_huge)
    huge = megabytes[0]
    ex = _extract_body(huge)
    (notice,) = _cut_notices(ex)
    assert notice["length"] == len(huge) and notice["read"] <= MAX_FIELD_CHARS  # type: ignore[operator]
    _assert_spans_valid(Ad("bench", "1", body=huge), ex)


def test_the_linearity_check_fails_for_a_quadratic_stage() -> None:
    def quadratic(text: str) -> None:
        # CPU time that grows with the square of the text, spun on the clock the check reads: 16
        # times as much for four times the text, however loaded the machine. (A real quadratic
        # search, `text.find` from every 8th character, cost 16 times in theory and under 10 in
        # one loaded CI run, below the check's bound: the check passed it once in its three tries.)
        end = time.process_time() + 0.004 * (len(text) / 50_000) ** 2
        while time.process_time() < end:
            pass

    with pytest.raises(AssertionError):
        assert_drawn_linear(quadratic, lambda size, i: "ab" * (size // 2), 200_000)


def test_the_linearity_check_passes_a_linear_stage() -> None:
    def linear(text: str) -> None:
        end = time.process_time() + 0.004 * len(text) / 50_000
        while time.process_time() < end:
            pass

    assert_drawn_linear(linear, lambda size, i: "ab" * (size // 2), 200_000)
