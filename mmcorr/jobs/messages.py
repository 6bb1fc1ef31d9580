"""Queue messages as JSON: a message names one job id, and nothing in it is ever executed.

huey's default serializer is pickle, so anyone who can write one row into the queue file (or one
key into Redis) could run code in every process that reads the queue: ``mmcorr worker`` and
``mmcorr doctor``. :class:`JobMessageSerializer` replaces it through huey's public ``serializer=``
argument: a message is ``{"v": 1, "task": "mmcorr.run_job", "id": ..., "job": JOB_ID,
"priority": N}`` and decoding checks every field. A message that does not decode (garbage, or a
pickled message written by mmcorr before this format) raises :class:`BadMessage`; the worker logs
and drops it, and re-enqueues at start every job the store still has queued, so no job is lost.
"""

from __future__ import annotations

import json
import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from huey.registry import Message

__all__ = [
    "BadMessage",
    "JobMessageSerializer",
    "MESSAGE_VERSION",
    "TASK_NAME",
    "check_queue_job_id",
    "decoded_job_ids",
]

log = logging.getLogger("mmcorr.jobs")

#: huey's name for the task that runs one job: the only task a message may name.
TASK_NAME = "mmcorr.run_job"
#: huey's registry names a task ``<module of its function>.<name>``; the function that runs a job
#: is defined in mmcorr.jobs.queue. Only the short :data:`TASK_NAME` goes on the wire.
REGISTERED_TASK_NAME = f"mmcorr.jobs.queue.{TASK_NAME}"
#: Version of the message format (the "v" field).
MESSAGE_VERSION = 1
#: Longest message accepted (a real one is about 150 bytes).
MAX_MESSAGE_BYTES = 4096
#: Job ids a message may carry: what :func:`mmcorr.jobs.api.new_job_id` makes, and test ids.
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")


class BadMessage(ValueError):
    """A queue message that is not a job message of this format; it is dropped, never run."""


def check_queue_job_id(job_id: object) -> str:
    """``job_id`` if a queue message may carry it (1-128 of letters, digits, ``._:-``)."""
    if isinstance(job_id, str) and _JOB_ID.fullmatch(job_id):
        return job_id
    raise BadMessage(
        "A queue message must carry a job id of 1-128 letters, digits, '.', '_', ':' or '-'. "
        f"Got {job_id!r:.80} instead."
    )


class JobMessageSerializer:
    """huey serializer of run-job messages as JSON (huey's ``serializer=``); see the module docstring.

    It has the two methods huey calls on a serializer, ``serialize`` and ``deserialize``; huey is
    imported only when a message is decoded, so importing :mod:`mmcorr.jobs` does not load it.

    One task only: :data:`TASK_NAME` on the wire, :data:`REGISTERED_TASK_NAME` in huey's registry.
    """

    task_name = TASK_NAME

    def serialize(self, data: Any) -> bytes:
        from huey.registry import Message

        if not isinstance(data, Message) or data.name != REGISTERED_TASK_NAME:
            raise BadMessage(f"Only {self.task_name} messages go on the mmcorr queue. Got {data!r:.80}.")
        args = tuple(data.args or ())
        extra = (data.eta, data.on_complete, data.on_error, data.expires, data.kwargs or None)
        if len(args) != 1 or any(v is not None for v in extra):
            raise BadMessage(f"A queue message carries one job id and nothing else. Got {data!r:.80}.")
        body = {
            "v": MESSAGE_VERSION,
            "task": self.task_name,
            "id": str(data.id),
            "job": check_queue_job_id(args[0]),
            "priority": int(data.priority or 0),
        }
        return json.dumps(body, separators=(",", ":")).encode("ascii")

    def deserialize(self, data: Any) -> Message:
        from huey.registry import Message

        if not isinstance(data, bytes | bytearray | memoryview) or len(data) > MAX_MESSAGE_BYTES:
            raise BadMessage(f"A queue message must be at most {MAX_MESSAGE_BYTES} bytes of JSON.")
        try:
            body = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadMessage(
                f"A queue message must be JSON (the mmcorr message format {MESSAGE_VERSION}). "
                f"Got {bytes(data[:24])!r} instead (a pickled message of an older mmcorr, or garbage)."
            ) from None
        keys = {"v", "task", "id", "job", "priority"}
        if not isinstance(body, dict) or set(body) != keys:
            raise BadMessage(
                f"A queue message must be an object with the keys {sorted(keys)}. Got {body!r:.80}."
            )
        if body["v"] != MESSAGE_VERSION or body["task"] != self.task_name:
            raise BadMessage(
                f"A queue message must have v={MESSAGE_VERSION} and task={self.task_name!r}. "
                f"Got v={body['v']!r:.20} and task={body['task']!r:.60}."
            )
        priority = body["priority"]
        if not isinstance(body["id"], str) or not isinstance(priority, int) or isinstance(priority, bool):
            raise BadMessage(
                f"A queue message's id must be a string and its priority an int. Got {body!r:.80}."
            )
        job_id = check_queue_job_id(body["job"])
        return Message(
            body["id"], REGISTERED_TASK_NAME, None, 0, 0, priority, (job_id,), {}, None, None, None, None
        )


def decoded_job_ids(huey: Any) -> list[str]:
    """The job ids of the messages waiting in ``huey``'s queue, in order; bad messages are skipped.

    Reads the stored bytes (``storage.enqueued_items()``) and decodes each with the JSON serializer,
    so a planted message is never unpickled here either (``mmcorr doctor``, the worker's start).
    """
    ids: list[str] = []
    for raw in huey.storage.enqueued_items():
        try:
            message = huey.serializer.deserialize(raw)
        except BadMessage as exc:
            log.warning("skipping a queue message that is not a job message: %s", exc)
            continue
        ids.append(str(message.args[0]))
    return ids
