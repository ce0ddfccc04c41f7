"""The exchanges' clients: Meta's python-threatexchange `SignalExchangeAPI`s, built from our settings.

hostguard does not speak the exchanges' protocols itself. For each kind it builds the
`threatexchange` library's `SignalExchangeAPI` (the one HMA uses) with the operator's
credentials and, where the operator or a test names one, another base URL, and reads its
`fetch_iter` as a stream of batches: each batch maps the exchange's own record keys to the
hashes the record gives (or to nothing: the record was deleted) plus the checkpoint to resume
after it. What the library leaves out or gets wrong is mended here, and said so:

- StopNCII: the library's delta mapping compares the hash value, not its status, with
  `Withdrawn`/`Deleted`, so withdrawn hashes are never deleted; the mapping here reads
  `hashStatus` (the records still come from the library's `StopNCIIAPI.fetch_hashes_iter`).
- ThreatExchange: the library asserts on an empty page of `/threat_updates` (no updates
  since the checkpoint); empty pages are skipped here. Its token travels in the URL
  (`access_token=`), so URLs are redacted in urllib3's log and in stored errors.
- NCMEC and Tech Against Terrorism have no base-URL setting; NCMEC takes it from its
  `environment` (its `.value`), TAT from a class attribute, which is where another is set.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import dacite
import requests
from threatexchange.exchanges import fetch_state
from threatexchange.exchanges.clients.fb_threatexchange.api import (
    ThreatExchangeAPI,
    _CursoredResponse,
)
from threatexchange.exchanges.clients.ncmec import hash_api as ncmec_api
from threatexchange.exchanges.clients.stopncii import api as stopncii_api
from threatexchange.exchanges.clients.techagainstterrorism import api as tat_api
from threatexchange.exchanges.collab_config import (
    CollaborationConfigBase,
    CollaborationConfigWithDefaults,
)
from threatexchange.exchanges.impl.fb_threatexchange_api import (
    FBThreatExchangeCollabConfig,
    FBThreatExchangeSignalExchangeAPI,
)
from threatexchange.exchanges.impl.ncmec_api import NCMECCollabConfig, NCMECSignalExchangeAPI
from threatexchange.exchanges.impl.stop_ncii_api import (
    StopNCIICheckpoint,
    StopNCIISignalExchangeAPI,
    StopNCIISignalMetadata,
)
from threatexchange.exchanges.impl.techagainstterrorism_api import TATSignalExchangeAPI
from threatexchange.exchanges.signal_exchange_api import SignalExchangeAPI
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal
from threatexchange.signal_type.signal_base import SignalType

from hostguard.errors import InvalidInput

FILE = "file"
EXCHANGE_TYPES = ("ncmec", "stopncii", "threatexchange", "tat", FILE)
# hostguard's algorithms as the library's signal types
SIGNAL_TYPES: dict[str, type[SignalType]] = {"pdq": PdqSignal, "md5": VideoMD5Signal}
# the credential fields each kind needs (stored encrypted, never shown again)
CREDENTIALS: dict[str, tuple[str, ...]] = {
    "ncmec": ("user", "password"),
    "stopncii": ("subscription_key", "fetch_key"),
    "threatexchange": ("app_token",),
    "tat": ("user", "password"),
    FILE: (),
}
OPTIONAL_CREDENTIALS: dict[str, tuple[str, ...]] = {"stopncii": ("feedback_key",)}
# which kinds accept a false-positive report through the library
FEEDBACK = frozenset({"ncmec", "stopncii"})
NCMEC_ENVIRONMENTS = {e.name: e for e in ncmec_api.NCMECEnvironment}
TIMEOUT = 60


TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s'\"]+")


def redact(text: str) -> str:
    """`access_token=...` in a URL (ThreatExchange's token) as `access_token=***`."""
    return TOKEN_IN_URL.sub(r"\1***", text)


class _RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = redact(record.getMessage())
            record.args = ()
        else:
            record.msg = redact(str(record.msg))
        return True


# urllib3 logs each request line (with ThreatExchange's token in it) at DEBUG
logging.getLogger("urllib3.connectionpool").addFilter(_RedactTokens())


@dataclass
class Batch:
    """One page of an exchange's updates: key -> [(hash, label)] (empty list: deleted)."""

    records: dict[str, list[tuple[str, str | None]]]
    checkpoint: dict[str, Any]
    progress_at: datetime | None


class _BaseURL:
    """Stands in for an `NCMECEnvironment`: the client reads only its `.value`."""

    def __init__(self, value: str) -> None:
        self.value = value.rstrip("/")


class _StopNCII(StopNCIISignalExchangeAPI):
    """The library's StopNCII exchange, deleting what StopNCII withdrew (see the module doc)."""

    def fetch_iter(self, _supported_signal_types, checkpoint):
        start = stopncii_api.StopNCIIAPI.DEFAULT_START_TIME
        if checkpoint is not None:
            start = checkpoint.update_time
        gone = (stopncii_api.StopNCIICaseStatus.Withdrawn, stopncii_api.StopNCIICaseStatus.Deleted)
        for page in self.api.fetch_hashes_iter(start_timestamp=start):
            updates: dict[tuple[str, str], StopNCIISignalMetadata | None] = {}
            for record in page.hashRecords:
                if record.signalType is stopncii_api.StopNCIISignalType.ImagePDQ:
                    kind = PdqSignal.get_name()
                elif record.signalType is stopncii_api.StopNCIISignalType.VideoMD5:
                    kind = VideoMD5Signal.get_name()
                else:
                    continue
                updates[(kind, record.hashValue)] = (
                    None
                    if record.hashStatus in gone
                    else StopNCIISignalMetadata(record.CSPFeedbacks)
                )
            yield fetch_state.FetchDelta(updates, StopNCIICheckpoint.from_stopncii_fetch(page))


class _NonEmptyPages(_CursoredResponse):
    def __iter__(self):
        for page in super().__iter__():
            if page:
                yield page


class _ThreatExchangeAPI(ThreatExchangeAPI):
    """The library's Graph API client; `/threat_updates` without empty pages (module doc)."""

    def get_threat_updates(self, privacy_group, **kwargs):
        cursor = super().get_threat_updates(privacy_group, **kwargs)
        return _NonEmptyPages(self, cursor.next_url, cursor.params, decode_fn=cursor.decode_fn)


class _TAT(TATSignalExchangeAPI):
    def __init__(self, username: str, password: str, base_url: str | None) -> None:
        super().__init__(username, password)
        self.base_url = base_url

    def get_client(self) -> tat_api.TATHashListAPI:
        client = tat_api.TATHashListAPI(username=self.username, password=self.password)
        if self.base_url:
            client.BASE_URL = self.base_url.rstrip("/") + "/"  # type: ignore[misc]
        return client


def check_settings(kind: str, algorithm: str, settings: dict, credentials: dict) -> None:
    """Every problem with an exchange's settings at once, in words."""
    problems = []
    if kind not in EXCHANGE_TYPES:
        raise InvalidInput(f"--type must be one of {', '.join(EXCHANGE_TYPES)}")
    if kind != FILE and algorithm not in SIGNAL_TYPES:
        problems.append(f"a {kind} exchange shares pdq or md5 hashes, not {algorithm}")
    missing = [f for f in CREDENTIALS[kind] if not credentials.get(f)]
    if missing:
        problems.append(
            f"a {kind} exchange needs {', '.join('--' + m.replace('_', '-') for m in missing)}"
        )
    if kind == FILE and not str(settings.get("url") or "").startswith(("https://", "http://")):
        problems.append("a file exchange needs --url (https://...)")
    if kind == "threatexchange" and not str(settings.get("privacy_group") or "").isdigit():
        problems.append("a threatexchange exchange needs --privacy-group (its numeric id)")
    if kind == "ncmec" and settings.get("environment", "NGO") not in NCMEC_ENVIRONMENTS:
        problems.append(f"--environment must be one of {', '.join(NCMEC_ENVIRONMENTS)}")
    if problems:
        raise InvalidInput("; ".join(problems), code="bad_exchange")


def build(kind: str, name: str, settings: dict, credentials: dict) -> SignalExchangeAPI:
    """The library's exchange API for one connected exchange."""
    base_url = settings.get("base_url") or None
    if kind == "ncmec":
        environment: Any = (
            _BaseURL(base_url)
            if base_url
            else NCMEC_ENVIRONMENTS[settings.get("environment", "NGO")]
        )
        ncmec = NCMECCollabConfig(name=name, environment=environment)
        return NCMECSignalExchangeAPI(ncmec, credentials["user"], credentials["password"])
    if kind == "stopncii":
        keys = {}
        if credentials.get("feedback_key"):
            keys[stopncii_api.StopNCIIEndpoint.SubmitFeedback] = credentials["feedback_key"]
        client = stopncii_api.StopNCIIAPI(
            credentials["subscription_key"],
            credentials["fetch_key"],
            additional_function_keys=keys,
            base_url_override=base_url,
        )
        return _StopNCII(CollaborationConfigBase(name=name, api="stop_ncii", enabled=True), client)
    if kind == "threatexchange":
        te = _ThreatExchangeAPI(credentials["app_token"], endpoint_override=base_url)
        group = FBThreatExchangeCollabConfig(
            name=name, privacy_group=int(settings["privacy_group"])
        )
        return FBThreatExchangeSignalExchangeAPI(te, group)
    if kind == "tat":
        return _TAT(credentials["user"], credentials["password"], base_url)
    raise InvalidInput(f"no client for exchanges of type {kind}")


def _collab(api: SignalExchangeAPI, name: str) -> Any:
    return getattr(api, "collab", None) or CollaborationConfigWithDefaults(name=name)


def fetch(
    api: SignalExchangeAPI, *, name: str, algorithm: str, checkpoint: dict | None
) -> Iterator[Batch]:
    """The exchange's updates after `checkpoint`, one batch per page the library yields."""
    signal_type = SIGNAL_TYPES[algorithm]
    saved = None
    if checkpoint is not None:
        saved = dacite.from_dict(api.get_checkpoint_cls(), checkpoint)
    collab = _collab(api, name)
    for delta in api.fetch_iter([signal_type], saved):
        records: dict[str, list[tuple[str, str | None]]] = {}
        for key, value in delta.updates.items():
            merged = api.fetch_value_merge(None, value) if value is not None else None
            hashes: list[tuple[str, str | None]] = []
            if merged is not None:
                converted = api.naive_convert_to_signal_type([signal_type], collab, {key: merged})
                for value_str, metadata in converted.get(signal_type, {}).items():
                    hashes.append((value_str, _label(metadata)))
            records[_key(key)] = hashes
        progress = delta.checkpoint.get_progress_timestamp() if delta.checkpoint else None
        yield Batch(
            records=records,
            checkpoint=json.loads(json.dumps(dataclasses.asdict(delta.checkpoint), default=str)),
            progress_at=datetime.fromtimestamp(progress, UTC) if progress else None,
        )


def _key(key: Any) -> str:
    if isinstance(key, tuple):
        return ":".join(str(part) for part in key)[:300]
    return str(key)[:300]


def _label(metadata: Any) -> str | None:
    try:
        text = str(metadata).strip()
    except Exception:  # a record's own __str__ failing must not stop a fetch
        return None
    return text[:200] if text and not text.startswith("<") else None


def fetch_file(url: str) -> bytes:
    """A file exchange's whole list, read again on every fetch."""
    response = requests.get(url, timeout=TIMEOUT)
    response.raise_for_status()
    return response.content


def send_feedback(
    api: SignalExchangeAPI, *, kind: str, ref: str | None, hash: str, algorithm: str
) -> None:
    """Tell the exchange that this hash matched something it is not (a false positive)."""
    if kind == "stopncii":
        assert isinstance(api, StopNCIISignalExchangeAPI)
        signal = (
            stopncii_api.StopNCIISignalType.ImagePDQ
            if algorithm == "pdq"
            else stopncii_api.StopNCIISignalType.VideoMD5
        )
        api.api.submit_feedback(signal, hash, stopncii_api.StopNCIICSPFeedbackValue.NotBlocked)
        return
    if kind == "ncmec":
        assert isinstance(api, NCMECSignalExchangeAPI)
        member, _, entry_id = (ref or "").partition("-")
        if not member.isdigit() or not entry_id:
            raise InvalidInput("the NCMEC entry of this hash is not known", code="no_entry")
        client = api.get_client(api.collab.environment)
        client.submit_feedback(
            int(member),
            entry_id,
            ncmec_api.FingerprintType.pdq if algorithm == "pdq" else ncmec_api.FingerprintType.md5,
            ncmec_api.FeedbackType.downvote,
        )
        return
    raise InvalidInput(f"{kind} exchanges take no feedback", code="no_feedback")
