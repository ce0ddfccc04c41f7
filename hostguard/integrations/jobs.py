"""Job handlers of hostguard.integrations: webhook deliveries and Hugging Face Hub checks."""

from __future__ import annotations

from sqlmodel import select

from hostguard.integrations.models import DeliveryStatus, WebhookDelivery
from hostguard.integrations.webhooks import attempt_delivery
from hostguard.jobs.service import handler


@handler("integrations.webhook")
def _deliver(*, session, payload, job, runtime) -> None:
    delivery = session.exec(
        select(WebhookDelivery).where(WebhookDelivery.delivery_id == payload["delivery_id"])
    ).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return
    attempt_delivery(session, runtime=runtime, delivery=delivery)


@handler("integrations.hf_check")
def _hf_check(*, session, payload, job, runtime) -> None:
    from hostguard.integrations.huggingface import check_hub_revision

    # The job id keys the platform actions: a job's database writes commit once, with its DONE
    # mark, while a later check of the same revision (the visibility flipped back) acts again.
    args = {k: payload[k] for k in ("repo_id", "revision")}
    job.payload = {
        **payload,
        "result": check_hub_revision(session=session, runtime=runtime, job_id=job.id, **args),
    }
