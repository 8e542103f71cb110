"""Group commit: what concurrent callers submit is handled together, and each gets its own answer."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import pytest

from omnia.core.batching import Combiner


class Recorder:
    """A handler that doubles numbers, refuses 13, records its batches, and can be held on its first batch."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: Sequence[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        self.entered.set()
        self.release.wait(10)
        return [ValueError(f"{n} is unlucky") if n == 13 else n * 2 for n in items]


def submit_all(combiner: Combiner[int, int], items: list[int]) -> dict[int, int | BaseException]:
    """Each item from a thread of its own, all at once; {item: its answer}."""
    answers: dict[int, int | BaseException] = {}
    barrier = threading.Barrier(len(items))

    def caller(n: int) -> None:
        barrier.wait()
        try:
            answers[n] = combiner.submit(n)
        except ValueError as exc:
            answers[n] = exc

    threads = [threading.Thread(target=caller, args=(n,)) for n in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def queued(combiner: Combiner[int, int], count: int) -> None:
    """Wait until `count` items are queued (behind a held batch)."""
    for _ in range(1000):
        if len(combiner._queue) >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"{count} items were never queued")


def test_alone_a_caller_runs_its_item_at_once() -> None:
    handler = Recorder()
    combiner: Combiner[int, int] = Combiner(handler, linger=10)

    assert combiner.submit(1) == 2
    assert combiner.submit(2) == 4
    assert handler.batches == [[1], [2]]  # nothing lingers after a batch of one


def test_items_submitted_while_a_batch_runs_go_together_in_the_next_one() -> None:
    handler = Recorder()
    handler.release.clear()
    combiner: Combiner[int, int] = Combiner(handler)
    first = threading.Thread(target=combiner.submit, args=(1,))
    first.start()
    handler.entered.wait(10)  # the first batch is running, and held

    answers: dict[int, int | BaseException] = {}
    waiting = threading.Thread(target=lambda: answers.update(submit_all(combiner, [2, 3, 4, 13])))
    waiting.start()
    queued(combiner, 4)  # all four wait behind the held batch
    handler.release.set()
    first.join(10)
    waiting.join(10)

    assert handler.batches[0] == [1]
    assert sorted(handler.batches[1]) == [2, 3, 4, 13]
    assert {n: answers[n] for n in (2, 3, 4)} == {2: 4, 3: 6, 4: 8}
    assert isinstance(answers[13], ValueError)  # only the caller of 13 gets its error
    assert (combiner.batches, combiner.items) == (2, 5)


def test_after_a_batch_of_several_a_runner_lingers_for_as_many() -> None:
    handler = Recorder()
    combiner: Combiner[int, int] = Combiner(handler, linger=30)
    handler.release.clear()
    first = threading.Thread(target=combiner.submit, args=(1,))
    first.start()
    handler.entered.wait(10)
    behind = threading.Thread(target=submit_all, args=(combiner, [2, 3, 4]))
    behind.start()
    queued(combiner, 3)
    handler.release.set()
    first.join(10)
    behind.join(10)

    answers = submit_all(combiner, [5, 6, 7])  # the first to come waits for the other two (not 30 s)

    assert answers == {5: 10, 6: 12, 7: 14}
    assert [sorted(batch) for batch in handler.batches] == [[1], [2, 3, 4], [5, 6, 7]]


def test_a_handler_that_fails_fails_every_caller_of_its_batch() -> None:
    def broken(items: Sequence[int]) -> list[int | BaseException]:
        raise ValueError("database gone")

    combiner: Combiner[int, int] = Combiner(broken)

    with pytest.raises(ValueError, match="database gone"):
        combiner.submit(1)


def test_an_item_submitted_from_inside_a_batch_runs_on_its_own() -> None:
    combiner: Combiner[int, int]

    def nested(items: Sequence[int]) -> list[int | BaseException]:
        return [combiner.submit(n + 100) if n < 100 else n for n in items]

    combiner = Combiner(nested, runners=1)

    assert combiner.submit(1) == 101  # no deadlock waiting for the runner this thread holds
