"""Configuration checks behind ``mmcorr doctor``: can this machine reach what the jobs need?

Each check returns a :class:`Check` whose ``detail`` says plainly what was found and, when
something is wrong, what to do. Nothing here imports torch; redis / psycopg load only when the
environment selects them.
"""

from __future__ import annotations

import dataclasses
import os
import uuid
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from mmcorr._validation import MmcorrError
from mmcorr.jobs import backends
from mmcorr.jobs.backends import QueueBackend, StoreBackend

__all__ = [
    "CheckStatus",
    "Check",
    "run_checks",
    "check_queue",
    "check_store",
    "check_artifacts_root",
    "check_leftovers",
]

#: File systems every machine of a cluster can mount: an artifacts root on one of them is shared.
SHARED_FS_TYPES = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "cephfs", "lustre", "gpfs", "beegfs", "glusterfs",
     "fuse.glusterfs", "fuse.cephfs", "fuse.sshfs", "fuse.s3fs", "fuse.gcsfuse", "fuse.juicefs",
     "fuse.mount-s3", "9p", "virtiofs", "afs", "wekafs", "efs"}
)  # fmt: skip


class CheckStatus(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report: ``name`` (what), ``status`` and ``detail`` (for people)."""

    name: str
    status: CheckStatus
    detail: str

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["status"] = self.status.value
        return out


def check_queue() -> Check:
    """Reach the queue; with Redis, also check that queued jobs survive a Redis restart."""
    try:
        url = backends.queue_url()
    except MmcorrError as exc:
        return Check("queue", CheckStatus.FAIL, str(exc))
    if url is None or backends.queue_backend() is QueueBackend.SQLITE:
        from mmcorr.jobs.queue import pending_job_ids

        try:
            n = len(pending_job_ids())
        except MmcorrError as exc:  # names the file and how to recover
            return Check("queue", CheckStatus.FAIL, str(exc))
        except Exception as exc:
            return Check("queue", CheckStatus.FAIL, f"The embedded SQLite queue cannot be read: {exc}")
        return Check("queue", CheckStatus.OK, f"embedded SQLite queue (one machine), {n} job(s) waiting")
    from mmcorr.jobs.redis_queue import check_redis

    try:
        info = check_redis(url)
    except MmcorrError as exc:
        return Check("queue", CheckStatus.FAIL, str(exc))
    text = f"Redis {info.version} at {info.url}, {info.queued} job(s) waiting"
    if not info.aof_enabled:
        return Check(
            "queue",
            CheckStatus.WARN,
            f"{text}; append-only persistence is OFF, so a Redis restart loses queued jobs (workers "
            "re-queue them from the job store at start). Set 'appendonly yes' and 'appendfsync always'.",
        )
    if info.fsync not in ("always", "unknown"):
        return Check(
            "queue",
            CheckStatus.WARN,
            f"{text}; appendfsync is {info.fsync!r}: a Redis crash can lose up to a second of "
            "submissions. Set 'appendfsync always' (the queue is tiny, it costs nothing noticeable).",
        )
    return Check("queue", CheckStatus.OK, f"{text}, AOF persistence on (appendfsync {info.fsync})")


def check_store() -> Check:
    """Reach the job store and compare its schema version with this mmcorr's."""
    from mmcorr.jobs.store import SCHEMA_VERSION, get_store

    try:
        backend = backends.store_backend()
        store = get_store()
    except MmcorrError as exc:
        return Check("job store", CheckStatus.FAIL, str(exc))
    if backend is StoreBackend.SQLITE:
        try:
            n = len(store.queued_ids())
        except MmcorrError as exc:  # names the file and how to recover
            return Check("job store", CheckStatus.FAIL, str(exc))
        except Exception as exc:
            return Check(
                "job store", CheckStatus.FAIL, f"The embedded SQLite job store cannot be read: {exc}"
            )
        return Check("job store", CheckStatus.OK, f"embedded SQLite job store, {n} queued job(s)")
    from mmcorr.jobs.postgres_store import PostgresJobStore

    assert isinstance(store, PostgresJobStore)
    try:
        version = store.schema_version()
        server = store.ping() if version else ""
    except MmcorrError as exc:
        return Check("job store", CheckStatus.FAIL, str(exc))
    where = store.where
    if version == 0:
        return Check(
            "job store",
            CheckStatus.OK,
            f"{where} is reachable and empty; the schema (version {SCHEMA_VERSION}) is created on first use",
        )
    if version > SCHEMA_VERSION:
        return Check(
            "job store",
            CheckStatus.FAIL,
            f"{where} has schema version {version}, newer than this mmcorr supports ({SCHEMA_VERSION}). "
            "Upgrade mmcorr on this machine to the version the other machines run.",
        )
    if version < SCHEMA_VERSION:
        return Check(
            "job store",
            CheckStatus.WARN,
            f"{where} has schema version {version}; it is migrated to {SCHEMA_VERSION} on first use. "
            "Upgrade every machine sharing it.",
        )
    short = server.split(" on ")[0]
    return Check("job store", CheckStatus.OK, f"{short}, {where}, schema version {version} (current)")


def _mount_fstype(path: Path) -> str | None:
    """The file system type of the mount holding ``path`` (Linux /proc/mounts), or None."""
    try:
        lines = Path("/proc/mounts").read_text().splitlines()
    except OSError:
        return None
    best, fstype = "", None
    target = str(path.resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, fstype = mount, parts[2]
    return fstype


def check_artifacts_root() -> Check:
    """The data home must be writable; with a server queue it must also be shared by every machine."""
    from mmcorr.paths import home

    try:
        root = home()
        probe = root / f".doctor-{uuid.uuid4().hex}.tmp"
        probe.write_bytes(b"ok")
        # Bundles are published by rename: check it works here too.
        moved = probe.with_suffix(".renamed")
        os.replace(probe, moved)
        moved.unlink()
    except OSError as exc:
        where = os.environ.get("MMCORR_HOME") or "~/.mmcorr"
        return Check(
            "artifacts root",
            CheckStatus.FAIL,
            f"The artifacts root MMCORR_HOME={where} is not writable by this user: {exc}. "
            "Create it, fix its permissions or point MMCORR_HOME elsewhere.",
        )
    try:
        server_queue = backends.uses_server_queue()
    except MmcorrError:
        server_queue = False  # reported by the queue check
    if not server_queue:
        return Check("artifacts root", CheckStatus.OK, f"{root} is writable")
    fstype = _mount_fstype(root)
    if fstype is not None and (fstype in SHARED_FS_TYPES or fstype.startswith("fuse.")):
        return Check(
            "artifacts root", CheckStatus.OK, f"{root} is writable, on a shared {fstype} file system"
        )
    unset = "" if os.environ.get("MMCORR_HOME") else " (MMCORR_HOME is not set, so it is the default)"
    return Check(
        "artifacts root",
        CheckStatus.WARN,
        f"{root}{unset} is writable but looks machine-local (file system {fstype or 'unknown'}). "
        "With a server queue, workers on other machines write run bundles the dashboard must read: "
        "point MMCORR_HOME at storage every machine mounts (NFS, CephFS, ...). Ignore this if all "
        "workers run on this machine.",
    )


def check_autostart() -> Check:
    """With a server queue the dashboard starts no worker: say so, so nobody waits for one."""
    try:
        server_queue = backends.uses_server_queue()
    except MmcorrError:
        return Check("workers", CheckStatus.WARN, "unknown until MMCORR_QUEUE_URL is fixed (see above)")
    if server_queue:
        text = (
            "server queue: the dashboard does not start workers; run 'mmcorr worker' (or the "
            "mmcorr-worker@ systemd units) on each worker machine"
        )
        from mmcorr.jobs.fleet import list_workers
        from mmcorr.jobs.records import WorkerState

        try:
            workers = list_workers()
        except MmcorrError:
            return Check(
                "workers", CheckStatus.WARN, f"{text}; the worker list is unknown (see the job store)"
            )
        live = [
            f"{w.name} on {w.host} ({w.state.value})" for w in workers if w.state is not WorkerState.STALE
        ]
        stale = [w.name for w in workers if w.state is WorkerState.STALE]
        if not live:
            return Check("workers", CheckStatus.WARN, f"{text}; no worker is alive now, so jobs will wait")
        note = f"; stale (dead?): {', '.join(stale)}" if stale else ""
        return Check("workers", CheckStatus.OK, f"{len(live)} live worker(s): {', '.join(live)}{note}")
    return Check("workers", CheckStatus.OK, "embedded queue: the dashboard starts a local worker when needed")


def check_leftovers() -> Check:
    """Temporary folders of interrupted writes and old staged uploads under the data home."""
    from mmcorr.jobs.leftovers import TMP_GRACE_S, UPLOAD_GRACE_S, find_leftovers

    try:
        found = find_leftovers()
    except OSError as exc:
        return Check("leftovers", CheckStatus.WARN, f"could not look for leftovers: {exc}")
    if not found.paths:
        return Check("leftovers", CheckStatus.OK, "no leftovers of interrupted writes or old uploads")
    shown = ", ".join(str(p) for p in found.paths[:3]) + (", ..." if len(found.paths) > 3 else "")
    return Check(
        "leftovers",
        CheckStatus.OK,
        f"{found.describe()} (temporary folders of interrupted writes older than "
        f"{TMP_GRACE_S / 3600:.0f} h, uploads older than {UPLOAD_GRACE_S / 3600:.0f} h): {shown}; "
        "the worker removes them when it next starts",
    )


def run_checks() -> list[Check]:
    """Every check, in the order a person would fix them."""
    return [check_queue(), check_store(), check_artifacts_root(), check_autostart(), check_leftovers()]
