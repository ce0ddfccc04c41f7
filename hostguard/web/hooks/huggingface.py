"""`POST /hooks/huggingface`: Hugging Face Hub webhook deliveries (secret in X-Webhook-Secret)."""

from __future__ import annotations

from flask import jsonify, request

from hostguard.integrations.huggingface import check_secret
from hostguard.web.access import MalformedRequest, api_route, db, request_json, runtime
from hostguard.web.hooks import bp
from hostguard.workflows.hub import queue_checks


@api_route(
    bp,
    "/huggingface",
    methods=["POST"],
    scopes=None,
    summary="Hugging Face Hub webhook: queues a check of each new revision (X-Webhook-Secret)",
    responses={
        202: "{status: queued|duplicate|ignored, queued, duplicates}",
        503: "the webhook is not configured (no HOSTGUARD_HF_WEBHOOK_SECRET)",
    },
    tags=["integrations"],
)
def huggingface_webhook():
    check_secret(runtime(), request.headers.get("X-Webhook-Secret"))
    data = request_json(what="the webhook body")
    if data is None:
        raise MalformedRequest("the webhook body is not valid JSON")
    result = queue_checks(db(), actor="huggingface", data=data)
    return jsonify(result), 202
