"""Kept answers of the read routes (`threadline.serve._answers`): given again only while the store
is unchanged, for a bounded time while a job writes, within a bounded number of bytes."""

from __future__ import annotations

import time

from threadline.serve._answers import Answer, Answers


def _answer(
    body: bytes, generation: tuple[int, int], *, busy: bool = False, made: float | None = None
) -> Answer:
    return Answer(body, None, generation, time.monotonic() if made is None else made, busy)


def test_an_answer_holds_until_the_writer_finishes_a_job() -> None:
    answers = Answers()
    answers.put("k", _answer(b"1", generation=(3, 0)))
    kept = answers.get("k", generation=(3, 0), busy=False)
    assert kept is not None and kept.body == b"1"
    assert answers.get("k", generation=(4, 0), busy=False) is None  # a job ended since: read again
    assert answers.get("other", generation=(3, 0), busy=False) is None
    assert (answers.hits, answers.misses) == (1, 2)


def test_while_a_job_runs_an_answer_is_given_only_for_a_short_while() -> None:
    answers = Answers(busy_seconds=5.0)
    now = time.monotonic()
    answers.put("fresh", _answer(b"f", (1, 0), made=now))
    answers.put("old", _answer(b"o", (1, 0), made=now - 60))
    answers.put("old made busy", _answer(b"b", (1, 0), busy=True, made=now - 60))
    assert answers.get("fresh", (1, 0), busy=True) is not None
    assert answers.get("old", (1, 0), busy=True) is None  # an ingest may have committed batches since
    assert answers.get("old", (1, 0), busy=False) is not None  # nothing ran since it was made
    assert answers.get("old made busy", (1, 0), busy=False) is None  # made while batches were landing


def test_kept_answers_stay_within_their_bytes_least_recently_used_first() -> None:
    answers = Answers(max_bytes=16 * 100)
    for k in range(40):
        answers.put(k, _answer(b"x" * 100, (0, 0)))
        answers.get(0, (0, 0), busy=False)  # the first is used all the time
    assert len(answers) == 16
    assert answers.get(0, (0, 0), busy=False) is not None and answers.get(1, (0, 0), busy=False) is None
    answers.put("huge", _answer(b"y" * 1000, (0, 0)))  # over a sixteenth of the budget: not kept
    assert answers.get("huge", (0, 0), busy=False) is None and len(answers) == 16


def test_an_ingests_batches_make_stale_only_the_answers_that_read_stored_ads() -> None:
    # (writer's count of other commits and finished jobs, its count of ingest batches)
    answers = Answers()
    answers.put("queue", _answer(b"q", (5, 0)))  # reads what linking and scoring saved
    answers.put("ad", _answer(b"a", (5, 7)))  # reads stored ads
    # A batch landed: the ad's count moved, the queue's did not (it keys on (5, 0) still).
    assert answers.get("queue", (5, 0), busy=False) is not None
    assert answers.get("ad", (5, 8), busy=False) is None
    # The ingest's link run committed: everything is read again.
    assert answers.get("queue", (6, 0), busy=False) is None
