"""A small fake DSA Transparency Database: the statement API v1 as the Commission's code answers it.

Served on 127.0.0.1 in a thread. Written from digital-services-act/transparency-database
(`StatementMultipleAPIController::store`, `GroupedSubmissionsService::multi_rules`,
`PuidNotUniqueMultipleException`, `StatementAPIController::existingPuid`, `routes/api_v1.php`),
independently of hostguard's own validator, so the two check each other:

- `Authorization: Bearer <token>` or 401;
- `POST /api/v1/statements`: 1 to 100 statements; each validated (required fields, allowed
  values, the real keyword list, conditional fields, dates, puid pattern); any invalid one
  rejects the whole call with 422 `{"errors": {"statement_<index>": {field: [message]}}}`;
  a puid already stored for the platform (or twice in the call) rejects the whole call with
  422 `{"message", "errors": {"puid": [...], "existing_puids": [...]}}`; otherwise 201
  `{"statements": [... with "uuid"]}`;
- `GET /api/v1/statement/existing-puid/<puid>`: 302 or 404.

For tests: `down()` / `up()` (connection refused in between, same port), `fail_next` (answer
5xx to that many calls), `hold_next` (store the next accepted batch, then wait for `release`
before answering: the answer a killed worker never reads).
"""

from __future__ import annotations

import re
import threading
import uuid
from collections import Counter
from datetime import date

from flask import Flask, jsonify, request
from werkzeug.serving import make_server

DECISION_VISIBILITY = {
    "DECISION_VISIBILITY_" + s
    for s in (
        "CONTENT_REMOVED CONTENT_DISABLED CONTENT_DEMOTED CONTENT_AGE_RESTRICTED "
        "CONTENT_INTERACTION_RESTRICTED CONTENT_LABELLED OTHER"
    ).split()
}
DECISION_MONETARY = {"DECISION_MONETARY_" + s for s in ("SUSPENSION", "TERMINATION", "OTHER")}
DECISION_PROVISION = {
    "DECISION_PROVISION_" + s
    for s in ("PARTIAL_SUSPENSION", "TOTAL_SUSPENSION", "PARTIAL_TERMINATION", "TOTAL_TERMINATION")
}
DECISION_ACCOUNT = {"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"}
DECISION_GROUNDS = {"DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"}
CONTENT_TYPES = {
    "CONTENT_TYPE_" + s for s in "APP AUDIO PRODUCT SYNTHETIC_MEDIA TEXT VIDEO IMAGE OTHER".split()
}
CATEGORIES = {
    "STATEMENT_CATEGORY_" + s
    for s in (
        "ANIMAL_WELFARE CONSUMER_INFORMATION CYBER_VIOLENCE CYBER_VIOLENCE_AGAINST_WOMEN "
        "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS ILLEGAL_OR_HARMFUL_SPEECH "
        "INTELLECTUAL_PROPERTY_INFRINGEMENTS NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS "
        "NOT_SPECIFIED_NOTICE OTHER_VIOLATION_TC PROTECTION_OF_MINORS RISK_FOR_PUBLIC_SECURITY "
        "SCAMS_AND_FRAUD SELF_HARM UNSAFE_AND_PROHIBITED_PRODUCTS VIOLENCE"
    ).split()
}
KEYWORDS = {
    "KEYWORD_" + s
    for s in (
        "ANIMAL_HARM ADULT_SEXUAL_MATERIAL AGE_SPECIFIC_RESTRICTIONS_MINORS "
        "AGE_SPECIFIC_RESTRICTIONS BIOMETRIC_DATA_BREACH BULLYING_AGAINST_GIRLS "
        "CHILD_SEXUAL_ABUSE_MATERIAL CHILD_SEXUAL_ABUSE_MATERIAL_DEEPFAKE "
        "CONTENT_PROMOTING_EATING_DISORDERS COORDINATED_HARM COPYRIGHT_INFRINGEMENT "
        "CYBER_BULLYING_INTIMIDATION CYBER_HARASSMENT CYBER_HARASSMENT_AGAINST_WOMEN "
        "CYBER_INCITEMENT CYBER_STALKING CYBER_STALKING_AGAINST_WOMEN DANGEROUS_TOYS "
        "DATA_FALSIFICATION DEFAMATION DESIGN_INFRINGEMENT DISCRIMINATION "
        "FEMALE_GENDERED_DISINFORMATION GEOGRAPHIC_INDICATIONS_INFRINGEMENT "
        "GEOGRAPHICAL_REQUIREMENTS GOODS_SERVICES_NOT_PERMITTED GROOMING_SEXUAL_ENTICEMENT_MINORS "
        "HATE_SPEECH HIDDEN_ADVERTISEMENT HUMAN_EXPLOITATION HUMAN_TRAFFICKING "
        "ILLEGAL_ORGANIZATIONS IMPERSONATION_ACCOUNT_HIJACKING INAUTHENTIC_ACCOUNTS "
        "INAUTHENTIC_LISTINGS INAUTHENTIC_USER_REVIEWS INCITEMENT_AGAINST_WOMEN "
        "INCITEMENT_VIOLENCE_HATRED INSUFFICIENT_INFORMATION_ON_TRADERS LANGUAGE_REQUIREMENTS "
        "MISINFORMATION_DISINFORMATION MISLEADING_INFO_CONSUMER_RIGHTS "
        "MISLEADING_INFO_GOODS_SERVICES MISSING_PROCESSING_GROUND NON_CONSENSUAL_IMAGE_SHARING "
        "NON_CONSENSUAL_IMAGE_SHARING_AGAINST_WOMEN NON_CONSENSUAL_MATERIAL_DEEPFAKE "
        "NON_CONSENSUAL_MATERIAL_DEEPFAKE_AGAINST_WOMEN NONCOMPLIANCE_PRICING NUDITY "
        "PATENT_INFRINGEMENT PHISHING PROHIBITED_PRODUCTS PYRAMID_SCHEMES RIGHT_TO_BE_FORGOTTEN "
        "RISK_ENVIRONMENTAL_DAMAGE RISK_PUBLIC_HEALTH SELF_MUTILATION STALKING SUICIDE "
        "TRADE_SECRET_INFRINGEMENT TRADEMARK_INFRINGEMENT TRAFFICKING_WOMEN_GIRLS "
        "TERRORIST_CONTENT UNLAWFUL_SALE_ANIMALS UNSAFE_CHALLENGES UNSAFE_PRODUCTS "
        "VIOLATION_EU_LAW VIOLATION_NATIONAL_LAW OTHER"
    ).split()
}
SOURCE_TYPES = {
    "SOURCE_ARTICLE_16",
    "SOURCE_TRUSTED_FLAGGER",
    "SOURCE_TYPE_OTHER_NOTIFICATION",
    "SOURCE_VOLUNTARY",
}
AUTOMATED_DECISIONS = {
    "AUTOMATED_DECISION_FULLY",
    "AUTOMATED_DECISION_PARTIALLY",
    "AUTOMATED_DECISION_NOT_AUTOMATED",
}
COUNTRIES = set(
    "AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK IS LI NO".split()
)
PUID = re.compile(r"^[a-zA-Z0-9\-_]+$")


def _date(value, earliest: date | None) -> str | None:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return "does not match the format YYYY-MM-DD."
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        return "does not match the format YYYY-MM-DD."
    if earliest and parsed < earliest:
        return f"must be a date after or equal to {earliest.isoformat()}."
    if parsed > date(2038, 1, 1):
        return "must be a date before or equal to 2038-01-01."
    return None


def validate(s: dict) -> dict[str, list[str]]:
    """The multi-store rules of the real database, for one statement: field -> messages."""
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(f"The {field.replace('_', ' ')} {message}")

    def present(field: str) -> bool:
        return s.get(field) not in (None, "", [])

    for field in (
        "decision_ground",
        "content_type",
        "category",
        "content_date",
        "application_date",
        "decision_facts",
        "source_type",
        "automated_detection",
        "automated_decision",
        "puid",
    ):
        if not present(field):
            add(field, "field is required.")

    def one_of(field: str, allowed: set[str]) -> None:
        if present(field) and s[field] not in allowed:
            add(field, "is invalid.")

    def many_of(field: str, allowed: set[str]) -> None:
        if s.get(field) is None:
            return
        if not isinstance(s[field], list) or any(v not in allowed for v in s[field]):
            add(field, "is invalid.")

    def at_most(field: str, limit: int) -> None:
        if present(field) and (not isinstance(s[field], str) or len(s[field]) > limit):
            add(field, f"must not be greater than {limit} characters.")

    decisions = (
        "decision_visibility",
        "decision_monetary",
        "decision_provision",
        "decision_account",
    )
    if not any(present(f) for f in decisions):
        for field in decisions:
            add(field, "field is required when none of the other decision fields are present.")
    many_of("decision_visibility", DECISION_VISIBILITY)
    one_of("decision_monetary", DECISION_MONETARY)
    one_of("decision_provision", DECISION_PROVISION)
    one_of("decision_account", DECISION_ACCOUNT)
    if "DECISION_VISIBILITY_OTHER" in (s.get("decision_visibility") or []):
        if not present("decision_visibility_other"):
            add("decision_visibility_other", "field is required when decision visibility is other.")
        at_most("decision_visibility_other", 500)
    if s.get("decision_monetary") == "DECISION_MONETARY_OTHER":
        if not present("decision_monetary_other"):
            add("decision_monetary_other", "field is required when decision monetary is other.")
        at_most("decision_monetary_other", 500)
    one_of("account_type", {"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})
    many_of("category_specification", KEYWORDS)
    at_most("category_specification_other", 500)
    one_of("decision_ground", DECISION_GROUNDS)
    if present("decision_ground_reference_url"):
        url = s["decision_ground_reference_url"]
        if not isinstance(url, str) or not re.match(r"^https?://\S+$", url) or len(url) > 500:
            add("decision_ground_reference_url", "must be a valid URL.")
    for ground, fields in (
        (
            "DECISION_GROUND_ILLEGAL_CONTENT",
            (("illegal_content_legal_ground", 500), ("illegal_content_explanation", 2000)),
        ),
        (
            "DECISION_GROUND_INCOMPATIBLE_CONTENT",
            (("incompatible_content_ground", 500), ("incompatible_content_explanation", 2000)),
        ),
    ):
        if s.get("decision_ground") == ground:
            for field, limit in fields:
                if not present(field):
                    add(field, "field is required when decision ground is the ground it explains.")
                at_most(field, limit)
    if s.get("decision_ground") == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        one_of("incompatible_content_illegal", {"Yes", "No"})
    if present("content_type"):
        many_of("content_type", CONTENT_TYPES)
    if "CONTENT_TYPE_OTHER" in (s.get("content_type") or []):
        if not present("content_type_other"):
            add("content_type_other", "field is required when content is other.")
        at_most("content_type_other", 500)
    one_of("category", CATEGORIES)
    many_of("category_addition", CATEGORIES)
    many_of("territorial_scope", COUNTRIES)
    if present("content_language") and not re.fullmatch(r"[A-Z]{2}", str(s["content_language"])):
        add("content_language", "is invalid.")
    for field, earliest in (
        ("content_date", date(2000, 1, 1)),
        ("application_date", date(2020, 1, 1)),
    ):
        if present(field) and (problem := _date(s[field], earliest)):
            add(field, problem)
    for field in (
        "end_date_account_restriction",
        "end_date_monetary_restriction",
        "end_date_service_restriction",
        "end_date_visibility_restriction",
    ):
        if present(field) and (problem := _date(s[field], None)):
            add(field, problem)
    at_most("decision_facts", 5000)
    one_of("source_type", SOURCE_TYPES)
    at_most("source_identity", 500)
    one_of("automated_detection", {"Yes", "No"})
    one_of("automated_decision", AUTOMATED_DECISIONS)
    if present("puid"):
        puid = s["puid"]
        if not isinstance(puid, str) or len(puid) > 500 or not PUID.match(puid):
            add("puid", "format is invalid.")
    return errors


class FakeTDB:
    def __init__(self, token: str = "tdb-test-token"):
        self.token = token
        self.stored: dict[str, dict] = {}  # puid -> statement as stored (with its uuid)
        self.accepted: Counter[str] = Counter()  # puid -> times a call stored it
        self.posts: list[int] = []  # size of every POST /statements that reached the app
        self.answers: list[int] = []  # status of each of them
        self.lookups: list[str] = []  # puids asked with existing-puid
        self.refused_duplicates: list[str] = []
        self.fail_next = 0  # answer 503 to that many calls
        self.fail_lookups = 0  # answer 503 to that many existing-puid lookups
        self.hold_next = False  # hold the answer of the next accepted batch until `release`
        self.holding = threading.Event()
        self.release = threading.Event()
        self.lock = threading.Lock()
        self.app = self._build()
        self._server = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def up(self) -> str:
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self.port = self._server.server_port
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self.url

    def down(self) -> None:
        """Stop listening: calls are refused until `up()` (on the same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _build(self) -> Flask:
        app = Flask("faketdb")

        @app.before_request
        def bearer():
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return jsonify({"message": "Unauthenticated."}), 401
            return None

        @app.get("/api/v1/statement/existing-puid/<puid>")
        def existing_puid(puid: str):
            self.lookups.append(puid)
            if self.fail_lookups:
                self.fail_lookups -= 1
                return jsonify({"message": "Server Error"}), 503
            if puid in self.stored:
                return jsonify({"message": "statement of reason found", "puid": puid}), 302
            return jsonify({"message": "statement of reason not found", "puid": puid}), 404

        @app.post("/api/v1/statements")
        def store():
            body = request.get_json(silent=True) or {}
            statements = body.get("statements")
            size = len(statements) if isinstance(statements, list) else 0
            self.posts.append(size)
            answer = self._store(statements)
            self.answers.append(answer[1])
            return answer

        return app

    def _store(self, statements):
        if self.fail_next:
            self.fail_next -= 1
            return jsonify({"message": "Server Error"}), 503
        if not isinstance(statements, list) or not 1 <= len(statements) <= 100:
            return jsonify(
                {
                    "message": "The statements field must have between 1 and 100 items.",
                    "errors": {
                        "statements": ["The statements field must have between 1 and 100 items."]
                    },
                }
            ), 422
        errors = {}
        for index, statement in enumerate(statements):
            problems = validate(statement if isinstance(statement, dict) else {})
            if problems:
                errors[f"statement_{index}"] = problems
        if errors:
            return jsonify({"errors": errors}), 422
        with self.lock:
            puids = [s["puid"] for s in statements]
            duplicates = sorted(
                {p for p in puids if p in self.stored}
                | {p for p, n in Counter(puids).items() if n > 1}
            )
            if duplicates:
                self.refused_duplicates += duplicates
                message = "The platform identifier(s) are not all unique within this call."
                return jsonify(
                    {
                        "message": message,
                        "errors": {"puid": [message], "existing_puids": duplicates},
                    }
                ), 422
            out = []
            for statement in statements:
                stored = {**statement, "uuid": str(uuid.uuid4())}
                self.stored[statement["puid"]] = stored
                self.accepted[statement["puid"]] += 1
                out.append(stored)
        if self.hold_next:
            self.hold_next = False
            self.holding.set()
            self.release.wait(60)
        return jsonify({"statements": out}), 201
