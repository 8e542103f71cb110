"""Group commit: the work of concurrent callers in one process, done together.

A caller hands its item to a Combiner and waits for its own result. Whichever caller finds a free
runner takes every item queued so far (its own among them) and hands the batch to the handler in its
own thread; the others wait for their results. Alone, a caller runs its item at once (a batch of
one). Under load, items pile up while the runners are busy and the next batch takes them all, so one
transaction and one round of statements serve many callers. Like PostgreSQL's commit_delay, a runner
that follows a batch of several waits up to `linger` seconds for as many items as that batch held
(its callers are likely composing their next ones): batches stay large instead of alternating
between half of the callers and the other half.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# The handler's answer for each item, in order: its result, or the exception to raise in its caller.
Handler = Callable[[Sequence[T]], Sequence["R | BaseException"]]


@dataclass(eq=False)
class _Slot(Generic[T, R]):
    item: T
    taken: bool = False
    done: bool = False
    result: R | None = None
    error: BaseException | None = None


class Combiner(Generic[T, R]):
    """Runs `handler` over batches of the items submitted concurrently, at most `runners` batches at a
    time and at most `max_batch` items each. The handler answers for every item (a result or an
    exception); if it raises instead, every item of that batch gets the exception."""

    def __init__(self, handler: Handler[T, R], *, runners: int = 1, max_batch: int = 32, linger: float = 0.0) -> None:
        if runners < 1 or max_batch < 1 or linger < 0:
            raise ValueError("a Combiner needs at least one runner, one item per batch, and no negative linger")
        self._handler = handler
        self._runners = runners
        self._max_batch = max_batch
        self._linger = linger
        self._running = 0
        self._queue: list[_Slot[T, R]] = []
        lock = threading.Lock()
        self._changed = threading.Condition(lock)  # a batch finished: results, and a free runner
        self._filled = threading.Condition(lock)  # a lingering runner's queue reached its target
        self._target = 0  # the queue length a lingering runner waits for (0: nobody lingers)
        self._local = threading.local()
        self._last = 0  # the size of the last batch run
        self.batches = 0  # run so far, and the items they held: how much was combined
        self.items = 0

    def submit(self, item: T) -> R:
        """The handler's result for `item` (or its exception, raised here), once its batch has run."""
        if getattr(self._local, "running", False):
            # Asked from inside a batch (a subscriber of what the batch committed): run it at once, as a
            # batch of its own, rather than wait for a runner this very thread may be holding.
            alone: _Slot[T, R] = _Slot(item)
            self._run([alone])
            return self._answer(alone)
        slot: _Slot[T, R] = _Slot(item)
        with self._changed:
            self._queue.append(slot)
            if self._target and len(self._queue) >= self._target:
                self._filled.notify()
            while not slot.done:
                if slot.taken or self._running >= self._runners:
                    self._changed.wait()
                    continue
                self._running += 1
                wanted = min(self._last, self._max_batch)
                if self._linger and wanted > 1 and len(self._queue) < wanted:
                    self._target = wanted
                    self._filled.wait(self._linger)
                    self._target = 0
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                for taken in batch:
                    taken.taken = True
                self._changed.release()
                try:
                    if batch:  # empty if another runner took them all while this one lingered
                        self._run(batch)
                finally:
                    self._changed.acquire()
                    self._running -= 1
                    self._changed.notify_all()
        return self._answer(slot)

    @staticmethod
    def _answer(slot: _Slot[T, R]) -> R:
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]  # set with done when the handler answered

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        nested = getattr(self._local, "running", False)
        self._local.running = True
        try:
            answers = list(self._handler([slot.item for slot in batch]))
            if len(answers) != len(batch):
                raise RuntimeError(f"the handler answered {len(answers)} of {len(batch)} items")
        except BaseException as exc:  # delivered to every waiting caller, raised there
            answers = [exc] * len(batch)
        finally:
            self._local.running = nested
        with self._changed:
            self.batches += 1
            self.items += len(batch)
            self._last = len(batch)
            for slot, answer in zip(batch, answers, strict=True):
                if isinstance(answer, BaseException):
                    slot.error = answer
                else:
                    slot.result = answer
                slot.done = True
