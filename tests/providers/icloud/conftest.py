"""An iCloud provider whose HTTP goes to ``responses``, and Apple's side of each exchange.

The real pyicloud runs unmodified against Apple's real host names. The SRP server side is
computed with the ``srp`` package (the same pre-hashed password Apple stores: PBKDF2 over
SHA-256 of the password, no user name in x), so a test proves the client's ``a``/``m1``/``m2``
are right rather than merely present. Every request is recorded with its JSON body; nothing
sleeps (the retry policy records its waits), and the clock is fixed.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import pbkdf2_hmac, sha256
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
import responses
import srp
from pyicloud.cookie_jar import PyiCloudCookieJar
from srp import _pysrp

from trashscan.models import (
    Account,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    RestoreResult,
    ScanOutcome,
    TrashItem,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore as DictSecrets
from trashscan_icloud.plugin import ICloudProvider

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NAME = "family"
APPLE_ID = "alice@example.org"
PASSWORD = "correct horse battery"
SERVICE = f"trashscan:icloud:{NAME}"
CLIENT_ID = "client-5e1f"
DSID = "1234567890"

IDMSA = "https://idmsa.apple.com"
AUTH = f"{IDMSA}/appleauth/auth"
SETUP = "https://setup.icloud.com/setup/ws/1"
CK = "https://p42-ckdatabasews.icloud.com:443"
PHOTOS_DB = f"{CK}/database/1/com.apple.photos.cloud/production/private"
DRIVEWS = "https://p42-drivews.icloud.com:443"
DOCWS = "https://p42-docws.icloud.com:443"

SESSION_TOKEN = "session-token-new"
OLD_SESSION_TOKEN = "session-token-old"
TRUST_TOKEN = "trust-token-1"
SRP_C = "srp-c-1"
SALT = b"0123456789abcdef"
ITERATIONS = 1000

ZONE = {"zoneName": "PrimarySync", "ownerRecordName": "_owner42", "zoneType": "REGULAR_CUSTOM_ZONE"}
WEBSERVICES = {
    "ckdatabasews": {"url": CK, "status": "active"},
    "drivews": {"url": DRIVEWS, "status": "active"},
    "docws": {"url": DOCWS, "status": "active"},
}
WEB_ACCESS_OK = {
    "isWebAccessAllowed": True,
    "isICDRSDisabled": False,
    "isDeviceConsentedForPCS": True,
    "deviceConsentForPCSExpiry": 0,
}
TRASH_ID = "FOLDER::com.apple.CloudDocs::TRASH_ROOT"
ROOT_ID = "FOLDER::com.apple.CloudDocs::root"
BASE_QUERY = {
    "clientBuildNumber": "2534Project66",
    "clientMasteringNumber": "2534B22",
    "clientId": CLIENT_ID,
    "dsid": DSID,
}
PHOTOS_QUERY = {**BASE_QUERY, "remapEnums": "True", "getCurrentSyncToken": "True"}


@dataclass(frozen=True)
class Sent:
    """One request as Apple received it."""

    method: str
    url: str  # without the query string
    query: dict[str, str]
    body: Any
    headers: dict[str, str]

    @property
    def call(self) -> tuple[str, str]:
        return self.method, self.url


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


@dataclass
class SrpServer:
    """Apple's side of SRP-6a for one password (s2k: PBKDF2 over the password's SHA-256)."""

    password: str = PASSWORD
    verifier: Any = None
    a_sizes: list[int] = field(default_factory=list)
    hamk: bytes | None = None
    proof_ok: bool = False

    def verification_key(self) -> bytes:
        n, g = _pysrp.get_ng(_pysrp.NG_2048, None, None)
        key = pbkdf2_hmac("sha256", sha256(self.password.encode()).digest(), SALT, ITERATIONS, 32)
        x = int.from_bytes(sha256(SALT + sha256(b":" + key).digest()).digest(), "big")
        v = pow(g, x, n)
        return v.to_bytes((v.bit_length() + 7) // 8, "big")

    def init(self, body: dict[str, Any]) -> dict[str, Any]:
        srp.rfc5054_enable()
        srp.no_username_in_x()
        a = base64.b64decode(body["a"])
        self.a_sizes.append(len(a))
        self.verifier = srp.Verifier(
            body["accountName"],
            SALT,
            self.verification_key(),
            a,
            hash_alg=srp.SHA256,
            ng_type=srp.NG_2048,
        )
        _, b = self.verifier.get_challenge()
        return {
            "salt": b64(SALT),
            "b": b64(b),
            "c": SRP_C,
            "iteration": ITERATIONS,
            "protocol": "s2k",
        }

    def complete(self, body: dict[str, Any]) -> bool:
        self.hamk = self.verifier.verify_session(base64.b64decode(body["m1"]))
        self.proof_ok = self.hamk is not None and base64.b64decode(body["m2"]) == self.hamk
        return self.proof_ok


def _body(request: Any) -> Any:
    body = request.body
    if isinstance(body, bytes):
        body = body.decode()
    if body in (None, ""):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return body


def json_body(expected: Any) -> Callable[[Any], tuple[bool, str]]:
    """The request body is exactly this JSON."""

    def match(request: Any) -> tuple[bool, str]:
        found = _body(request)
        return (found == expected, "" if found == expected else f"body {found!r} != {expected!r}")

    return match


class Apple:
    """Registers Apple's answers and reads back what the plugin sent."""

    def __init__(self, tmp_path: Path, rsps: responses.RequestsMock) -> None:
        self.rsps = rsps
        self.secrets = DictSecrets()
        self.secrets.set(SERVICE, "password", PASSWORD)
        self.sleeps: list[float] = []
        self.passwords: list[str] = []
        self.codes: list[str] = []
        self.prompts: list[str] = []
        self.notices: list[str] = []
        self.srp = SrpServer()
        self.context = ProviderContext(
            secrets=self.secrets,
            retry=RetryPolicy(sleep=self.sleeps.append, random=lambda: 0.5),
            clock=lambda: NOW,
            data_dir=tmp_path / "data",
        )
        apple = self

        class Prompted(ICloudProvider):
            def read_password(self, prompt: str) -> str:
                apple.prompts.append(prompt)
                if not apple.passwords:
                    raise AssertionError(f"unexpected password prompt: {prompt}")
                return apple.passwords.pop(0)

            def read_code(self, prompt: str) -> str:
                apple.prompts.append(prompt)
                if not apple.codes:
                    raise AssertionError(f"unexpected code prompt: {prompt}")
                return apple.codes.pop(0)

            def notice(self, text: str) -> None:
                apple.notices.append(text)

        self.provider = Prompted(self.context)

    # ---------------------------------------------------------------------------- state

    def account_dir(self, acct: Account | None = None) -> Path:
        return self.context.account_dir(acct or account())

    def session_file(self) -> Path:
        return self.account_dir() / "aliceexampleorg.session"

    def cookie_file(self) -> Path:
        return self.account_dir() / "aliceexampleorg.cookiejar"

    def session_data(self) -> dict[str, Any]:
        return json.loads(self.session_file().read_text())

    def write_session(
        self,
        session_token: str | None = OLD_SESSION_TOKEN,
        trust_token: str | None = TRUST_TOKEN,
        cookie: bool = True,
    ) -> None:
        """pyicloud's files as an earlier sign-in left them."""
        data: dict[str, Any] = {"client_id": CLIENT_ID, "account_country": "USA"}
        if session_token:
            data["session_token"] = session_token
        if trust_token:
            data["trust_token"] = trust_token
        self.session_file().write_text(json.dumps(data))
        jar = PyiCloudCookieJar(filename=str(self.cookie_file()))
        if cookie:
            jar.set_cookie(
                requests.cookies.create_cookie(
                    "X-APPLE-WEBAUTH-TOKEN", '"v=2:t=cached"', domain=".icloud.com", secure=True
                )
            )
        jar.save()

    # ---------------------------------------------------------------------------- answers

    def add(
        self,
        method: str,
        url: str,
        answer: Any = None,
        *,
        status: int = 200,
        body: Any = ...,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        """Expect ``method url`` (any query string), with exactly ``body`` when given."""
        text = (
            answer if isinstance(answer, str) else json.dumps(answer if answer is not None else {})
        )
        match = [] if body is ... else [json_body(body)]
        self.rsps.add(
            method,
            url,
            body=text,
            status=status,
            headers=headers or {},
            content_type=content_type,
            match=match,
        )

    def srp_sign_in(
        self,
        *,
        trust_tokens: list[str] | None = None,
        outcome: str = "ok",  # ok | 2fa | wrong
    ) -> None:
        """authorize/signin, signin/init and signin/complete, with Apple's SRP side."""
        self.rsps.add(
            responses.GET,
            f"{AUTH}/authorize/signin",
            body="<html></html>",
            content_type="text/html",
        )
        server = self.srp

        def init(request: Any) -> tuple[int, dict[str, str], str]:
            answer = server.init(_body(request))
            return 200, {"scnt": "scnt-1", "X-Apple-ID-Session-Id": "sid-1"}, json.dumps(answer)

        def complete(request: Any) -> tuple[int, dict[str, str], str]:
            body = _body(request)
            assert body.get("trustTokens") == (trust_tokens or []), body
            if not server.complete(body):
                error = {"serviceErrors": [{"code": "-20101", "message": "Check password"}]}
                return 401, {}, json.dumps(error)
            headers = {"X-Apple-Session-Token": SESSION_TOKEN, "X-Apple-ID-Account-Country": "USA"}
            if outcome == "2fa":
                return 409, headers, json.dumps({"authType": "hsa2"})
            return 200, headers, "{}"

        self.rsps.add_callback(
            responses.POST, f"{AUTH}/signin/init", callback=init, content_type="application/json"
        )
        self.rsps.add_callback(
            responses.POST,
            f"{AUTH}/signin/complete",
            callback=complete,
            content_type="application/json",
        )

    def account_login(
        self,
        *,
        trusted: bool = True,
        trust_token: str = "",
        session_token: str = SESSION_TOKEN,
        status: int = 200,
        setup: str = SETUP,
    ) -> None:
        body = {
            "accountCountryCode": "USA",
            "dsWebAuthToken": session_token,
            "extended_login": True,
            "trustToken": trust_token,
        }
        if status != 200:
            self.add(
                responses.POST, f"{setup}/accountLogin", {"error": 1}, status=status, body=body
            )
            return
        cookie = 'X-APPLE-WEBAUTH-TOKEN="v=2:t=fresh"; Domain=.icloud.com; Path=/; Secure; HttpOnly'
        self.add(
            responses.POST,
            f"{setup}/accountLogin",
            login_data(trusted),
            body=body,
            headers={"Set-Cookie": cookie},
        )

    def validate(self, *, ok: bool = True, trusted: bool = True) -> None:
        if ok:
            self.add(responses.POST, f"{SETUP}/validate", login_data(trusted), body=None)
        else:
            self.add(responses.POST, f"{SETUP}/validate", {"error": 1}, status=421, body=None)

    def web_access(self, state: dict[str, Any] | None = None) -> None:
        self.add(responses.POST, f"{SETUP}/requestWebAccessState", state or WEB_ACCESS_OK)

    def photos_service(self) -> None:
        """What ``api.photos`` and its album list cost: PCS state, indexing state, albums."""
        self.web_access()
        self.query(
            {"query": {"recordType": "CheckIndexingState"}, "zoneID": PRIMARY, "resultsLimit": 1},
            {
                "records": [
                    {
                        "recordName": "_ck",
                        "recordType": "CheckIndexingState",
                        "fields": {"state": {"value": "FINISHED", "type": "STRING"}},
                    }
                ]
            },
        )

    def album_list(self) -> None:
        self.query(
            {"query": {"recordType": "CPLAlbumByPositionLive"}, "zoneID": PRIMARY}, {"records": []}
        )

    def query(
        self, body: Any, answer: Any, *, status: int = 200, headers: dict | None = None
    ) -> None:
        self.add(
            responses.POST,
            f"{PHOTOS_DB}/records/query",
            answer,
            status=status,
            body=body,
            headers=headers,
        )

    def deleted_page(self, start_rank: int, records: list[dict[str, Any]], **kwargs: Any) -> None:
        self.query(deleted_query(start_rank), {"records": records}, **kwargs)

    def drive_trash(self, items: list[dict[str, Any]]) -> None:
        self.add(
            responses.POST,
            f"{DRIVEWS}/retrieveItemDetailsInFolders",
            [{"drivewsid": "TRASH_ROOT", "numberOfItems": len(items), "items": items}],
            body=[{"drivewsid": TRASH_ID, "partialData": False}],
        )

    def drive_folder(self, drivewsid: str, items: list[dict[str, Any]], docwsid: str = "") -> None:
        self.add(
            responses.POST,
            f"{DRIVEWS}/retrieveItemDetailsInFolders",
            [
                {
                    "drivewsid": drivewsid,
                    "docwsid": docwsid or drivewsid.rsplit("::", 1)[-1],
                    "zone": "com.apple.CloudDocs",
                    "name": "",
                    "type": "FOLDER",
                    "etag": "9",
                    "items": items,
                }
            ],
            body=[{"drivewsid": drivewsid, "partialData": False}],
        )

    # ---------------------------------------------------------------------------- reading

    @property
    def sent(self) -> list[Sent]:
        out = []
        for call in self.rsps.calls:
            parts = urlsplit(call.request.url)
            url = f"{parts.scheme}://{parts.netloc}{parts.path}"
            out.append(
                Sent(
                    call.request.method,
                    url,
                    dict(parse_qsl(parts.query)),
                    _body(call.request),
                    dict(call.request.headers),
                )
            )
        return out

    @property
    def calls(self) -> list[tuple[str, str]]:
        return [s.call for s in self.sent]

    # ---------------------------------------------------------------------------- running

    def scan(self, acct: Account | None = None) -> tuple[list[Page], ScanOutcome]:
        gen: Generator[Page, None, ScanOutcome] = self.provider.scan(acct or account(), None)
        pages: list[Page] = []
        while True:
            try:
                pages.append(next(gen))
            except StopIteration as stop:
                return pages, stop.value

    def restore(self, *items: IndexedItem, acct: Account | None = None) -> list[RestoreResult]:
        return list(self.provider.restore(acct or account(), list(items)))


PRIMARY = {"zoneName": "PrimarySync", "zoneType": "REGULAR_CUSTOM_ZONE"}


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


@pytest.fixture
def apple(tmp_path: Path, rsps: responses.RequestsMock) -> Apple:
    return Apple(tmp_path, rsps)


# ------------------------------------------------------------------------------------ builders


def account(endpoint: str | None = None, ca_bundle: str | None = None, **options: Any) -> Account:
    return Account(NAME, "icloud", {"apple_id": APPLE_ID, **options}, endpoint, ca_bundle)


def login_data(trusted: bool = True) -> dict[str, Any]:
    return {
        "dsInfo": {"dsid": DSID, "hsaVersion": 2, "appleId": APPLE_ID},
        "hsaTrustedBrowser": trusted,
        "webservices": WEBSERVICES,
    }


def deleted_query(start_rank: int) -> dict[str, Any]:
    """Exactly the records/query body of one Recently Deleted page."""
    return {
        "query": {
            "recordType": "CPLAssetAndMasterDeletedByExpungedDate",
            "filterBy": [
                {
                    "comparator": "EQUALS",
                    "fieldName": "direction",
                    "fieldValue": {"type": "STRING", "value": "ASCENDING"},
                },
                {
                    "comparator": "EQUALS",
                    "fieldName": "startRank",
                    "fieldValue": {"type": "INT64", "value": start_rank},
                },
            ],
        },
        "zoneID": PRIMARY,
        "resultsLimit": 200,
    }


def master(
    name: str,
    filename: str,
    *,
    size: int = 2_345_678,
    uti: str = "public.heic",
    width: int = 4032,
    height: int = 3024,
) -> dict[str, Any]:
    return {
        "recordName": name,
        "recordType": "CPLMaster",
        "fields": {
            "filenameEnc": {"value": b64(filename.encode()), "type": "STRING"},
            "itemType": {"value": uti, "type": "STRING"},
            "resOriginalFileType": {"value": uti, "type": "STRING"},
            "resOriginalWidth": {"value": width, "type": "INT64"},
            "resOriginalHeight": {"value": height, "type": "INT64"},
            "resOriginalRes": {
                "value": {"size": size, "fileChecksum": "ck", "downloadURL": "https://cvws/x"},
                "type": "ASSETID",
            },
        },
        "recordChangeTag": f"{name}-tag",
        "zoneID": ZONE,
    }


def asset(
    name: str, master_name: str, expunged: datetime, tag: str = "tag-1", in_trash: bool = True
) -> dict[str, Any]:
    return {
        "recordName": name,
        "recordType": "CPLAsset",
        "fields": {
            "masterRef": {
                "value": {"recordName": master_name, "action": "DELETE_SELF", "zoneID": ZONE},
                "type": "REFERENCE",
            },
            "isDeleted": {"value": 1 if in_trash else 0, "type": "INT64"},
            "dateExpunged": {"value": ms(expunged), "type": "TIMESTAMP"},
            "assetDate": {"value": ms(expunged - timedelta(days=100)), "type": "TIMESTAMP"},
            "addedDate": {"value": ms(expunged - timedelta(days=99)), "type": "TIMESTAMP"},
        },
        "recordChangeTag": tag,
        "zoneID": ZONE,
        "expirationTime": int((expunged + timedelta(days=10)).timestamp()),
        "deleted": False,
    }


def pair(index: int, expunged: datetime, filename: str | None = None, **kwargs: Any) -> list[dict]:
    """One deleted photo: its CPLMaster and CPLAsset records."""
    name = filename or f"IMG_{index:04d}.HEIC"
    return [master(f"M{index}", name, **kwargs), asset(f"A{index}", f"M{index}", expunged)]


def drive_file(
    name: str,
    extension: str,
    *,
    ident: str = "C2AD01E4",
    restore_path: str | None = None,
    changed: str = "2026-11-12T02:17:55Z",
    expires: str = "2026-12-12T02:17:55Z",
    etag: str = "o72::o6y",
) -> dict[str, Any]:
    return {
        "dateCreated": "2025-06-23T20:58:35Z",
        "drivewsid": f"FILE::com.apple.CloudDocs::{ident}",
        "docwsid": ident,
        "zone": "com.apple.CloudDocs",
        "name": name,
        "extension": extension,
        "parentId": "TRASH_ROOT",
        "dateExpiration": expires,
        "isChainedToParent": True,
        "dateModified": "2025-06-23T20:43:02Z",
        "dateChanged": changed,
        "size": 11_364_977,
        "etag": etag,
        "restorePath": restore_path if restore_path is not None else f"Pictures/{name}.{extension}",
        "lastOpenTime": "2026-11-12T02:15:18Z",
        "type": "FILE",
    }


def drive_folder_item(name: str, ident: str = "F0LDER") -> dict[str, Any]:
    return {
        "drivewsid": f"FOLDER::com.apple.CloudDocs::{ident}",
        "docwsid": ident,
        "zone": "com.apple.CloudDocs",
        "name": name,
        "parentId": ROOT_ID,
        "etag": "f1",
        "type": "FOLDER",
    }


def indexed_photo(
    record: str = "A1", tag: str = "tag-1", zone: dict[str, Any] | None = None
) -> IndexedItem:
    return _indexed(
        f"photo:{record}",
        "IMG_0001.HEIC",
        {
            "kind": "photo",
            "record_name": record,
            "record_type": "CPLAsset",
            "zone": zone or ZONE,
            "record_change_tag": tag,
            "master_record_name": "M1",
        },
    )


def indexed_drive(ident: str = "C2AD01E4", path: str = "Pictures/beach.jpg") -> IndexedItem:
    return _indexed(
        f"drive:FILE::com.apple.CloudDocs::{ident}",
        path.rsplit("/", 1)[-1],
        {
            "kind": "drive",
            "drivewsid": f"FILE::com.apple.CloudDocs::{ident}",
            "docwsid": ident,
            "etag": "o72::o6y",
            "zone": "com.apple.CloudDocs",
            "restore_path": path,
        },
    )


def _indexed(item_id: str, name: str, handle: dict[str, Any]) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("icloud", NAME, item_id),
        provider="icloud",
        account=NAME,
        item_id=item_id,
        name=name,
        path=None,
        kind=Kind.PHOTO,
        mime_type="image/heic",
        size=1234,
        deleted_at=NOW,
        deleted_at_source=DeletedAtSource.API,
        purge_at=NOW + timedelta(days=30),
        purge_is_estimate=False,
        restorable=True,
        not_restorable_reason=None,
        restore_handle=handle,
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
    )


def items_of(pages: list[Page]) -> dict[str, TrashItem]:
    return {item.item_id: item for page in pages for item in page.items}
