"""Kept answers of the read routes (`threadline.serve._answers`): given again only while nothing
they read was touched by a commit, for a bounded time while a job with untold writes runs,
within a bounded number of bytes; one read for many callers asking at once."""

from __future__ import annotations

import threading
import time

import pytest

from threadline.serve._answers import Answer, Answers, Changes
from threadline.store._tx import ALL


def _answer(
    body: bytes, seen: int, tags: set[str] | None = None, *, busy: bool = False, made: float | None = None
) -> Answer:
    made = time.monotonic() if made is None else made
    return Answer(body, None, seen, frozenset(tags or {"links"}), made, busy)


def test_an_answer_holds_until_a_commit_touches_what_it_read() -> None:
    changes, answers = Changes(), Answers()
    answers.put("net 1", _answer(b"1", changes.count, {"net:N1"}))
    answers.put("net 2", _answer(b"2", changes.count, {"net:N2"}))
    answers.put("queue", _answer(b"q", changes.count, {"links"}))
    changes.touch(frozenset({"links", "net:N2"}))  # a link run that clustered N2 again
    kept = answers.get("net 1", changes, busy=False)
    assert kept is not None and kept.body == b"1"
    assert answers.get("net 2", changes, busy=False) is None
    assert answers.get("queue", changes, busy=False) is None
    assert answers.get("other", changes, busy=False) is None
    assert (answers.hits, answers.misses) == (1, 3)
    changes.touch(ALL)  # an analyst's act, a fit, a hash list: everything
    assert answers.get("net 1", changes, busy=False) is None


def test_an_answer_read_while_a_commit_lands_is_not_kept() -> None:
    """The count is taken before the read: a commit told after it (even one whose rows the read
    saw) makes the answer stale, never the reverse."""
    changes, answers = Changes(), Answers()
    seen = changes.count
    changes.touch(frozenset({"net:N1"}))  # committed while the read ran
    answers.put("net 1", _answer(b"1", seen, {"net:N1"}))
    assert answers.get("net 1", changes, busy=False) is None
    answers.put("net 1", _answer(b"1", changes.count, {"net:N1"}))  # read again after it
    assert answers.get("net 1", changes, busy=False) is not None


def test_an_ingests_batches_make_stale_only_the_answers_that_read_stored_ads() -> None:
    changes, answers = Changes(), Answers()
    answers.put("queue", _answer(b"q", 0, {"links"}))  # reads what linking and scoring saved
    answers.put("network", _answer(b"n", 0, {"net:N1"}))
    answers.put("ad", _answer(b"a", 0, {"ads", "net:N1"}))  # reads stored ads
    answers.put("search", _answer(b"s", 0, {"ads", "links"}))
    changes.touch(frozenset({"ads"}))  # a batch landed
    assert answers.get("queue", changes, busy=False) is not None
    assert answers.get("network", changes, busy=False) is not None
    assert answers.get("ad", changes, busy=False) is None
    assert answers.get("search", changes, busy=False) is None


def test_while_a_job_with_untold_writes_runs_an_answer_is_given_only_for_a_short_while() -> None:
    changes, answers = Changes(), Answers(busy_seconds=5.0)
    now = time.monotonic()
    answers.put("fresh", _answer(b"f", 0, made=now))
    answers.put("old", _answer(b"o", 0, made=now - 60))
    answers.put("old made busy", _answer(b"b", 0, busy=True, made=now - 60))
    assert answers.get("fresh", changes, busy=True) is not None
    assert answers.get("old", changes, busy=True) is None  # the job may have written since
    assert answers.get("old", changes, busy=False) is not None  # nothing ran since it was made
    assert answers.get("old made busy", changes, busy=False) is None  # made while it wrote


def test_too_many_tags_are_forgotten_as_a_change_of_everything() -> None:
    changes, answers = Changes(), Answers()
    changes.MAX_TAGS = 10
    answers.put("net 1", _answer(b"1", changes.count, {"net:N1"}))
    changes.touch(frozenset(f"net:M{i}" for i in range(6)))
    assert answers.get("net 1", changes, busy=False) is not None
    changes.touch(frozenset(f"net:K{i}" for i in range(6)))  # past the bound: forgotten, all stale
    assert answers.get("net 1", changes, busy=False) is None


def test_kept_answers_stay_within_their_bytes_least_recently_used_first() -> None:
    changes, answers = Changes(), Answers(max_bytes=16 * 100)
    for k in range(40):
        answers.put(k, _answer(b"x" * 100, 0))
        answers.get(0, changes, busy=False)  # the first is used all the time
    assert len(answers) == 16
    assert answers.get(0, changes, busy=False) is not None and answers.get(1, changes, busy=False) is None
    answers.put("huge", _answer(b"y" * 1000, 0))  # over a sixteenth of the budget: not kept
    assert answers.get("huge", changes, busy=False) is None and len(answers) == 16


def test_callers_asking_at_once_for_one_key_share_one_read() -> None:
    changes, answers = Changes(), Answers()
    started, release = threading.Event(), threading.Event()
    reads: list[int] = []

    def read(seen: int, busy: bool, made: float) -> Answer:
        reads.append(seen)
        started.set()
        release.wait(timeout=60)
        return Answer(b"once", None, seen, frozenset({"net:N1"}), made, busy)

    got: list[tuple[bytes, bool]] = []

    def ask() -> None:
        answer, kept = answers.get_or_read("net 1", changes, lambda: False, read)
        got.append((answer.body, kept))

    first = threading.Thread(target=ask)
    first.start()
    assert started.wait(timeout=60)
    others = [threading.Thread(target=ask) for _ in range(4)]
    for t in others:
        t.start()
    release.set()
    for t in (first, *others):
        t.join(timeout=60)
    assert len(reads) == 1 and sorted(got) == [(b"once", False)] + [(b"once", True)] * 4


def test_a_read_that_fails_lets_the_next_caller_read() -> None:
    changes, answers = Changes(), Answers()

    def fails(seen: int, busy: bool, made: float) -> Answer:
        raise LookupError("no such network")

    with pytest.raises(LookupError):
        answers.get_or_read("net 9", changes, lambda: False, fails)
    answer, kept = answers.get_or_read(
        "net 9", changes, lambda: False, lambda s, b, m: Answer(b"now", None, s, frozenset(), m, b)
    )
    assert (answer.body, kept) == (b"now", False)
