"""Platform actioners: how a decision (quarantine, take-down, ...) is carried out on the platform.

One small interface, several implementations (log-only, signed webhook, Hugging Face Hub),
chosen by the `actioner` setting. Actions are queued as jobs in the deciding transaction, so a
decision is never recorded without its action being on its way, and retried if the platform is down.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, NotRequired, Protocol, TypedDict, TypeVar

from sqlmodel import Session

from hostguard.jobs.service import enqueue, handler

if TYPE_CHECKING:
    from hostguard.runtime import Runtime

log = logging.getLogger(__name__)

ACTION_KINDS = (
    "quarantine",  # hide pending review (private or gated)
    "restrict",  # gate / label
    "take_down",
    "restore",  # undo any of the above: back to the settings from before (appeal overturned, review cleared)
    "suspend_uploader",
    "reinstate_uploader",
    "notify_uploader",  # a message to the uploader on the platform (e.g. a discussion)
)


@dataclass
class PlatformAction:
    kind: str
    repo_id: str | None = None
    repo_type: str = "model"
    uploader_platform_id: str | None = None
    case_id: int | None = None
    message: str = ""
    extra: dict = field(default_factory=dict)


class ActionResult(TypedDict):
    """What an actioner did (kept in the job's payload as `result`)."""

    applied: bool
    actioner: str
    reason: NotRequired[str]  # why nothing was applied
    delivery_id: NotRequired[str]  # webhook: the delivery that carries the action
    delivery: NotRequired[str]
    prior: NotRequired[dict[str, Any]]  # Hub: the repo's settings from before hostguard acted
    setting: NotRequired[str]  # Hub: private, gated, label or restored
    discussion: NotRequired[int]  # Hub: the discussion opened on the repo
    restored: NotRequired[dict[str, Any]]  # Hub: the settings put back


class Actioner(Protocol):
    name: str

    def apply(
        self, action: PlatformAction, *, runtime: Runtime, session: Session | None = None, job=None
    ) -> ActionResult:
        """Carry the action out on the platform; raise to have the job retried.

        `session` is the job's transaction (what the actioner writes commits with the job's DONE
        mark, e.g. a repo's settings before it was hidden, or a webhook delivery) and `job` the
        job itself (its id keys what must be the same on every retry).
        """


class LogActioner:
    """Records the action in the log only: for platforms that poll hostguard instead."""

    name = "log"

    def apply(
        self, action: PlatformAction, *, runtime: Runtime, session: Session | None = None, job=None
    ) -> ActionResult:
        log.info("platform action %s on %s (case %s)", action.kind, action.repo_id, action.case_id)
        return {"applied": False, "actioner": self.name}


# The others (signed webhook, Hugging Face Hub) register themselves when
# hostguard.integrations.actioners is imported, which `hostguard.registry` does: every process
# that applies actions (the worker, the web app, the tests) imports it at start.
ACTIONERS: dict[str, type[Actioner]] = {"log": LogActioner}

_ActionerClass = TypeVar("_ActionerClass", bound=type[Actioner])


def register_actioner(cls: _ActionerClass) -> _ActionerClass:
    ACTIONERS[cls.name] = cls
    return cls


def get_actioner(runtime: Runtime) -> Actioner:
    name = runtime.settings.actioner
    try:
        return ACTIONERS[name]()
    except KeyError as exc:
        raise LookupError(
            f"unknown actioner '{name}' (registered: {', '.join(sorted(ACTIONERS))}); check the "
            "`actioner` setting, and that this process imported hostguard.registry at start"
        ) from exc


def queue_action(session: Session, action: PlatformAction, *, dedupe_key: str | None = None):
    """Queue the action in the caller's transaction; the worker applies it."""
    if action.kind not in ACTION_KINDS:
        raise ValueError(f"unknown platform action {action.kind}")
    return enqueue(session, "platform.action", asdict(action), dedupe_key=dedupe_key)


@handler("platform.action")
def _run_platform_action(*, session, payload, job, runtime: Runtime) -> None:
    result = get_actioner(runtime).apply(
        PlatformAction(**payload), runtime=runtime, session=session, job=job
    )
    job.payload = {**payload, "result": result}
