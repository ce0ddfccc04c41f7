"""An example request and answer for every API operation, shown in the OpenAPI document.

Keyed by (method, OpenAPI path). `request` is the JSON body (or, for a multipart route, the
form fields, files shown by name); `answer` is `(status, body)` of a successful call, or
`(status, text, media type)` for an answer that is not JSON.
`tests/web/test_openapi.py` fails when an operation has none, and checks every JSON request
example against the route's body model.
"""

from __future__ import annotations

from typing import Any

CHECK_ID = "9b1d6c1e-2f8a-4c61-a4c3-5f3c0b8a7e21"
REV = "3f2a9c0d1b7e4f6a8c5d2e1b0a9f8e7d6c5b4a39"
AT = "2026-12-07T09:30:00+00:00"
PORTAL = "https://hostguard.example.org/portal"
CASE = {
    "id": 42,
    "status": "open",
    "category": "child_sexual_abuse",
    "source": "notice",
    "priority": 1000,
    "repo": {"id": "alice/pixels", "type": "model"},
    "assignee_id": None,
    "deadline_at": "2026-12-08T09:30:00+00:00",
    "created_at": AT,
}
DECISION = {
    "id": 7,
    "case_id": 42,
    "action": "take_down",
    "ground": "illegal_content",
    "category": "child_sexual_abuse",
    "explanation": "The sample images match a list of known material.",
    "decided_at": AT,
}
FLAGGER = {
    "id": 3,
    "name": "Safer Internet Hotline",
    "coordinator": "Bundesnetzagentur",
    "member_state": "DE",
    "areas": ["child_sexual_abuse"],
    "designated_on": "2025-03-01",
    "designation_reference": "DSC-DE-2025-17",
    "status": "active",
}
ORDER = {
    "order_id": 11,
    "authority": "Police Scotland",
    "reference": "PS-2026-118",
    "legal_basis": "Art. 9 DSA",
    "category": "terrorism",
    "items": ["alice/pixels"],
    "status": "received",
    "case_ids": [43],
}
ENDPOINT = {
    "id": 1,
    "name": "decisions",
    "url": "https://platform.example/hooks/hostguard",
    "events": ["upload.decision", "upload.decision_changed"],
    "created_at": AT,
    "deliveries": {"pending": 0, "delivered": 12, "failed": 0},
}
HELD = {
    "check_id": CHECK_ID,
    "decision": "hold",
    "reasons": [
        {
            "code": "certification_required",
            "message": "The uploader has not yet signed: Training data.",
        }
    ],
    "required_steps": [
        {
            "type": "certification",
            "url": f"{PORTAL}/certifications?token=eyJ1Ijoi…",
            "statements": [{"id": "no-csam-training-data", "version": 1, "title": "Training data"}],
        }
    ],
    "matches": [],
    "watermark": None,
    "policy": {"id": "default", "version": 1},
}

# a sample video on a partner's review list (category `other`: the shipped policy holds it)
VIDEO_MATCH = {
    "path": "samples/clip.mp4",
    "kind": "video",
    "list": "partner-videos",
    "algorithm": "vpdq",
    "distance": 5,
    "threshold": 20,
    "category": "other",
    "list_action": "review",
}

EXAMPLES: dict[tuple[str, str], dict[str, Any]] = {
    # --- uploads ----------------------------------------------------------------------------
    ("post", "/api/v1/uploads/check"): {
        "request": {
            "uploader": {"id": "u-42", "username": "alice", "email": "alice@example.org"},
            "repo": {
                "id": "alice/pixels",
                "type": "model",
                "revision": REV,
                "visibility": "private",
                "pipeline_tag": "text-to-image",
            },
            "files": [{"path": "model.safetensors", "size": 4096, "sha256": "a" * 64}],
        },
        "multipart": {
            "check": '{"uploader": {"id": "u-42"}, "repo": {...}}',
            "sample_images": "sample.png",
        },
        "answer": (200, HELD),
    },
    ("get", "/api/v1/uploads/checks/{check_id}"): {
        "answer": (
            200,
            {
                **HELD,
                "reasons": [
                    {
                        "code": "hash_match",
                        "message": "A sample video matches a hash list; the upload was referred "
                        "to the moderation team.",
                    }
                ],
                "required_steps": [],
                "matches": [VIDEO_MATCH],
                "repo": {"id": "alice/pixels", "type": "model"},
                "revision": REV,
                "visibility": "private",
                "sequence": 1,
                "created_at": AT,
                "updated_at": AT,
            },
        )
    },
    ("post", "/api/v1/uploaders/{uploader_id}/kyu"): {
        "multipart": {
            "legal_name": "Alice Example",
            "address": "1 Quiet Street, Springfield",
            "country": "DE",
            "date_of_birth": "1990-04-30",
            "id_document": "passport.jpg",
        },
        "answer": (201, {"kyu_id": 5, "status": "pending_review"}),
    },
    ("get", "/api/v1/uploaders/{uploader_id}"): {
        "answer": (
            200,
            {
                "id": "u-42",
                "username": "alice",
                "status": "active",
                "strikes": 0,
                "kyu": {"status": "verified", "verified_until": "2028-12-07"},
                "certifications": [
                    {
                        "certification_id": "c-7f3a",
                        "repo_id": "alice/pixels",
                        "revision": "*",
                        "signed_at": AT,
                        "statements": [{"id": "no-csam-training-data", "version": 1}],
                    }
                ],
            },
        )
    },
    ("post", "/api/v1/certifications"): {
        "request": {
            "uploader_id": "u-42",
            "repo_id": "alice/pixels",
            "revision": "*",
            "statements": [{"id": "no-csam-training-data", "version": 1, "accepted": True}],
            "signed_name": "Alice Example",
        },
        "answer": (
            201,
            {
                "certification_id": "c-7f3a",
                "receipt": {
                    "receipt": {
                        "uploader": "u-42",
                        "repo": "alice/pixels",
                        "revision": "*",
                        "scope": "repo",
                        "statements": [{"id": "no-csam-training-data", "version": 1}],
                        "signed_at": AT,
                    },
                    "key_id": "k-1a2b3c",
                    "signature": "MEUCIQ…",
                },
                "model_card_yaml": "hostguard:\n  certification: c-7f3a\n",
            },
        ),
    },
    ("get", "/api/v1/keys"): {
        "answer": (
            200,
            {
                "keys": [
                    {
                        "key_id": "k-1a2b3c",
                        "algorithm": "Ed25519",
                        "public_key": "MCowBQYDK2VwAyEA…",
                        "use": "certification receipts",
                        "status": "current",
                    }
                ]
            },
        )
    },
    ("post", "/api/v1/upload-tokens"): {
        "request": {"uploader_id": "u-42", "repo_id": "alice/pixels", "ttl_seconds": 900},
        "answer": (
            201,
            {
                "token": "hgu_0a1b2c3d_…",
                "token_id": "0a1b2c3d",
                "uploader_id": "u-42",
                "repo_id": "alice/pixels",
                "repo_type": "model",
                "expires_at": "2026-12-07T09:45:00+00:00",
            },
        ),
    },
    ("post", "/api/v1/portal-links"): {
        "request": {"uploader_id": "u-42", "repo_id": "alice/new-model", "visibility": "public"},
        "answer": (
            200,
            {
                "url": f"{PORTAL}/certifications?token=eyJ1Ijoi…",
                "purpose": "certification",
                "expires_at": "2026-12-14T09:30:00+00:00",
            },
        ),
    },
    # --- webhooks ---------------------------------------------------------------------------
    ("get", "/api/v1/webhook-endpoints"): {"answer": (200, {"endpoints": [ENDPOINT]})},
    ("post", "/api/v1/webhook-endpoints"): {
        "request": {
            "name": "decisions",
            "url": "https://platform.example/hooks/hostguard",
            "events": ["upload.decision", "upload.decision_changed"],
        },
        "answer": (
            201,
            {
                **ENDPOINT,
                "deliveries": {"pending": 0, "delivered": 0, "failed": 0},
                "secret": "whsec_…",
            },
        ),
    },
    ("delete", "/api/v1/webhook-endpoints/{ident}"): {
        "answer": (
            200,
            {"id": 1, "url": "https://platform.example/hooks/hostguard", "removed": True},
        )
    },
    # --- hashing ----------------------------------------------------------------------------
    ("post", "/api/v1/scan"): {
        "multipart": {"images": "sample.png"},
        "answer": (
            200,
            {
                "results": [
                    {
                        "path": "sample.png",
                        "matched": False,
                        "matches": [],
                        "error": None,
                        "low_quality": False,
                    }
                ]
            },
        ),
    },
    ("get", "/api/v1/hashlists"): {
        "answer": (
            200,
            {
                "lists": [
                    {
                        "name": "ncmec-pdq",
                        "algorithm": "pdq",
                        "threshold": 31,
                        "action": "block",
                        "category": "csam",
                        "source": "ncmec",
                        "entries": 120000,
                        "version": 4,
                        "enabled": True,
                        "internal": False,
                        "updated_at": AT,
                    }
                ]
            },
        )
    },
    ("post", "/api/v1/hashlists/{name}/import"): {
        "multipart": {
            "file": "list.txt",
            "algorithm": "pdq",
            "category": "csam",
            "action": "block",
        },
        "answer": (
            200,
            {
                "list": "ncmec-pdq",
                "algorithm": "pdq",
                "format": "lines",
                "valid": 1000,
                "invalid": 0,
                "duplicates": 2,
                "errors": [],
                "imported": 998,
                "created": False,
                "added": 998,
                "removed": 0,
                "unchanged": 0,
                "entries": 120998,
                "version": 5,
            },
        ),
    },
    ("post", "/api/v1/hashlists/{name}/suppressions"): {
        "request": {"hash": "f" * 64, "reason": "a benign picture matched wrongly"},
        "answer": (200, {"list": "ncmec-pdq", "suppressed": 1, "entries": 120997}),
    },
    # --- exchanges --------------------------------------------------------------------------
    ("get", "/api/v1/exchanges"): {
        "answer": (
            200,
            {
                "exchanges": [
                    {
                        "name": "ncmec",
                        "type": "ncmec",
                        "algorithm": "md5",
                        "list": "ncmec",
                        "settings": {"environment": "exttest"},
                        "credentials": "stored",
                        "last_success_at": AT,
                        "last_added": 12,
                        "last_removed": 0,
                    }
                ]
            },
        )
    },
    ("post", "/api/v1/exchanges"): {
        "request": {
            "name": "ncmec",
            "type": "ncmec",
            "algorithm": "md5",
            "environment": "exttest",
            "credentials": {"user": "platform", "password": "…"},
        },
        "answer": (
            201,
            {
                "name": "ncmec",
                "type": "ncmec",
                "algorithm": "md5",
                "list": "ncmec",
                "credentials": "stored",
            },
        ),
    },
    ("delete", "/api/v1/exchanges/{name}"): {"answer": (200, {"removed": "ncmec", "entries": 0})},
    ("post", "/api/v1/exchanges/{name}/fetch"): {
        "answer": (202, {"exchange": "ncmec", "queued": True})
    },
    # --- datasets ---------------------------------------------------------------------------
    ("post", "/api/v1/datasets/scans"): {
        "request": {"repo": "ada/faces", "revision": "main"},
        "answer": (
            202,
            {
                "id": 3,
                "status": "queued",
                "progress": {"shards_done": 0, "shards_total": 0, "images": 0},
                "result": None,
            },
        ),
    },
    ("get", "/api/v1/datasets/scans/{scan_id}"): {
        "answer": (
            200,
            {
                "id": 3,
                "status": "finished",
                "progress": {"shards_done": 4, "shards_total": 4, "images": 2400},
                "result": {"images": 2400, "matches": [], "unreadable": 0},
            },
        )
    },
    # --- notices, orders, cases -------------------------------------------------------------
    ("post", "/api/v1/notices"): {
        "request": {
            "items": ["https://huggingface.co/alice/pixels"],
            "category": "child_sexual_abuse",
            "explanation": "The model's sample images show child sexual abuse material.",
            "notifier": {"name": "Nora Notifier", "email": "nora@example.org"},
            "good_faith": True,
        },
        "answer": (201, {"notice_id": 17, "case_ids": [42]}),
    },
    ("post", "/api/v1/orders"): {
        "request": {
            "authority": "Police Scotland",
            "member_state": "IE",
            "reference": "PS-2026-118",
            "legal_basis": "Art. 9 DSA",
            "category": "terrorism",
            "explanation": "Model generating terrorist propaganda.",
            "items": ["alice/pixels"],
        },
        "answer": (201, ORDER),
    },
    ("get", "/api/v1/orders/{order_id}"): {"answer": (200, ORDER)},
    ("post", "/api/v1/orders/{order_id}/acknowledge"): {
        "answer": (200, {**ORDER, "status": "acknowledged", "acknowledged_at": AT})
    },
    ("get", "/api/v1/cases"): {"answer": (200, {"items": [CASE], "next_cursor": None})},
    ("get", "/api/v1/cases/search"): {
        "answer": (200, {"items": [{**CASE, "score": 0.82, "matched": ["notice explanation"]}]})
    },
    ("get", "/api/v1/cases/{case_id}"): {
        "answer": (
            200,
            {**CASE, "notices": [{"id": 17, "explanation": "…"}], "decisions": [], "notes": []},
        )
    },
    ("post", "/api/v1/cases/{case_id}/claim"): {
        "answer": (200, {**CASE, "status": "in_review", "assignee_id": 3})
    },
    ("post", "/api/v1/cases/{case_id}/release"): {"answer": (200, CASE)},
    ("get", "/api/v1/queues"): {
        "answer": (
            200,
            {
                "items": [
                    {
                        "id": "child_safety",
                        "label": "Child safety",
                        "depth": 4,
                        "unassigned": 1,
                        "overdue": 0,
                        "may_work": False,
                        "roles": ["senior_moderator", "legal", "admin"],
                        "teams": [],
                    },
                    {
                        "id": "general",
                        "label": "General",
                        "depth": 37,
                        "unassigned": 12,
                        "overdue": 2,
                        "may_work": True,
                        "roles": [],
                        "teams": [],
                    },
                ]
            },
        )
    },
    ("get", "/api/v1/saved-filters"): {
        "answer": (
            200,
            {
                "items": [
                    {
                        "id": 3,
                        "name": "Overdue trusted flaggers",
                        "filter": {"queue": "trusted_flaggers", "overdue": True, "sort": "oldest"},
                        "created_at": AT,
                    }
                ]
            },
        )
    },
    ("post", "/api/v1/saved-filters"): {
        "request": {
            "name": "Overdue trusted flaggers",
            "filter": {"queue": "trusted_flaggers", "overdue": True, "sort": "oldest"},
        },
        "answer": (
            201,
            {
                "id": 3,
                "name": "Overdue trusted flaggers",
                "filter": {"queue": "trusted_flaggers", "overdue": True, "sort": "oldest"},
                "created_at": AT,
            },
        ),
    },
    ("delete", "/api/v1/saved-filters/{filter_id}"): {
        "answer": (200, {"id": 3, "name": "Overdue trusted flaggers", "deleted": True})
    },
    ("post", "/api/v1/cases/next"): {
        "request": {"queue": "general", "overdue": True},
        "answer": (
            200,
            {
                **CASE,
                "category": "hate",
                "status": "in_review",
                "assignee_id": 3,
                "queue": "general",
            },
        ),
    },
    ("get", "/api/v1/samples"): {
        "answer": (
            200,
            {
                "items": [
                    {
                        "sample_id": 5,
                        "case_id": 42,
                        "repo_id": "alice/pixels",
                        "source": "notice",
                        "opened_at": AT,
                        "notices": [
                            {
                                "id": 9,
                                "category": "hate",
                                "explanation": "The model card's examples are slurs.",
                                "items": ["alice/pixels"],
                            }
                        ],
                        "evidence": [],
                    }
                ]
            },
        )
    },
    ("post", "/api/v1/samples/{sample_id}/review"): {
        "request": {"action": "take_down", "ground": "terms_of_service", "category": "hate"},
        "answer": (
            200,
            {
                "sample_id": 5,
                "case_id": 42,
                "status": "submitted",
                "agrees": True,
                "review": {"action": "take_down", "ground": "terms_of_service", "category": "hate"},
                "first_decision": {
                    "action": "take_down",
                    "ground": "terms_of_service",
                    "category": "hate",
                    "explanation": "The examples on the model card are hateful slurs.",
                },
            },
        ),
    },
    ("post", "/api/v1/cases/{case_id}/take-over"): {
        "request": {"reason": "the moderator is away"},
        "answer": (200, {**CASE, "status": "in_review", "assignee_id": 4}),
    },
    ("post", "/api/v1/cases/{case_id}/reassign"): {
        "request": {"user_id": 4, "reason": "needs a senior moderator"},
        "answer": (200, {**CASE, "assignee_id": 4}),
    },
    ("post", "/api/v1/cases/{case_id}/notes"): {
        "request": {"body": "Checked the sample images; they match the list."},
        "answer": (
            201,
            {"id": 9, "case_id": 42, "author": "user:3", "body": "Checked …", "created_at": AT},
        ),
    },
    ("post", "/api/v1/cases/{case_id}/links"): {
        "request": {"case_id": 43, "reason": "the same model re-uploaded"},
        "answer": (201, {"case_id": 42, "linked": [43]}),
    },
    ("post", "/api/v1/cases/{case_id}/decision"): {
        "request": {
            "action": "take_down",
            "ground": "illegal_content",
            "category": "child_sexual_abuse",
            "explanation": "The sample images match a list of known material.",
        },
        "answer": (
            201,
            {
                "decision": DECISION,
                "statement_of_reasons": {"id": 5, "puid": "hostguard-5"},
                "case": {**CASE, "status": "decided"},
                "warnings": [],
            },
        ),
    },
    ("post", "/api/v1/cases/{case_id}/appeal"): {
        "request": {"appellant": "uploader", "reason": "The images are my own drawings."},
        "answer": (
            201,
            {"id": 2, "case_id": 42, "appellant": "uploader", "status": "open", "created_at": AT},
        ),
    },
    ("get", "/api/v1/appeals"): {
        "answer": (
            200,
            {"items": [{"id": 2, "case_id": 42, "appellant": "uploader", "status": "open"}]},
        )
    },
    ("post", "/api/v1/appeals/{appeal_id}/decision"): {
        "request": {
            "outcome": "upheld",
            "explanation": "The match was confirmed by a second moderator.",
        },
        "answer": (200, {"id": 2, "case_id": 42, "status": "decided", "outcome": "upheld"}),
    },
    ("post", "/api/v1/cases/{case_id}/wrong-match"): {
        "request": {"reason": "the image is a stock photograph"},
        "answer": (
            200,
            {"case_id": 42, "lists": ["ncmec-pdq"], "suppressed": 1, "feedback_queued": 1},
        ),
    },
    ("post", "/api/v1/cases/bulk"): {
        "request": {"action": "assign", "case_ids": [42, 43], "user_id": 4},
        "answer": (200, {"done": [42, 43], "refused": []}),
    },
    ("get", "/api/v1/cases/{case_id}/report-package"): {
        "answer": (
            200,
            {
                "format": "hostguard-report-package/2",
                "case_id": 42,
                "incident_type": "child sexual abuse material",
                "classification": "A1",
                "files": [
                    {"path": "sample.png", "size": 20480, "md5": "…", "sha256": "…", "pdq": "…"}
                ],
            },
        )
    },
    ("post", "/api/v1/cases/{case_id}/hotline-reports"): {
        "request": {
            "hotline": "NCMEC CyberTipline",
            "reference": "CT-123456",
            "media": [{"path": "sample.png", "classification": "A1"}],
        },
        "answer": (
            201,
            {
                "id": 1,
                "case_id": 42,
                "hotline": "NCMEC CyberTipline",
                "reference": "CT-123456",
                "preserve_until": "2027-12-07",
            },
        ),
    },
    ("get", "/api/v1/cases/{case_id}/hotline-reports"): {
        "answer": (
            200,
            {"filings": [{"id": 1, "hotline": "NCMEC CyberTipline", "reference": "CT-123456"}]},
        )
    },
    ("post", "/api/v1/cases/{case_id}/preservation"): {
        "request": {"until": "2028-06-30T00:00:00+00:00", "reason": "the hotline asked for longer"},
        "answer": (200, {"case_id": 42, "preserve_until": "2028-06-30T00:00:00+00:00"}),
    },
    # --- trusted flaggers -------------------------------------------------------------------
    ("get", "/api/v1/trusted-flaggers"): {"answer": (200, {"flaggers": [FLAGGER]})},
    ("post", "/api/v1/trusted-flaggers"): {
        "request": {k: v for k, v in FLAGGER.items() if k not in ("id", "status")},
        "answer": (201, FLAGGER),
    },
    ("get", "/api/v1/trusted-flaggers/{ident}"): {
        "answer": (200, {**FLAGGER, "figures": {"notices": 12}})
    },
    ("post", "/api/v1/trusted-flaggers/{ident}/suspend"): {
        "request": {"reason": "the coordinator asked for a suspension"},
        "answer": (200, {**FLAGGER, "status": "suspended"}),
    },
    ("post", "/api/v1/trusted-flaggers/{ident}/reinstate"): {
        "request": {"reason": "the coordinator lifted the suspension"},
        "answer": (200, FLAGGER),
    },
    # --- the document itself ----------------------------------------------------------------
    ("get", "/api/v1/openapi.json"): {
        "answer": (200, {"openapi": "3.1.0", "info": {"title": "hostguard API"}, "paths": {}})
    },
    ("get", "/api/v1/docs"): {
        "answer": (200, "<!doctype html><title>hostguard API</title>…", "text/html")
    },
    ("get", "/api/v1/docs/assets/{name}"): {"answer": (200, "/* swagger-ui.css */ …", "text/css")},
    ("post", "/hooks/huggingface"): {
        "request": {
            "event": {"action": "update", "scope": "repo.content"},
            "repo": {"type": "model", "name": "alice/pixels", "headSha": REV},
            "webhook": {"id": "6567d7f5…", "version": 3},
        },
        "answer": (202, {"status": "queued", "queued": 1, "duplicates": 0}),
    },
}
