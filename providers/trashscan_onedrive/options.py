"""An account's OneDrive options, declared once (the core checks them): app id, authority, scopes.

trashscan ships no Entra app: a multi-tenant app asking for ``Sites.ReadWrite.All`` would need
publisher verification, and work tenants often require admin consent for unverified apps. Like
rclone users, the user registers a public client of their own and passes its id.

National clouds: Graph and the sign-in authority live on different hosts per cloud. The account's
core ``endpoint`` is the Graph root; ``authority`` is the login URL. When only the endpoint is given
and it is a known national Graph host, the matching authority is picked; for any other endpoint
(the sandbox, a proxy) the authority defaults to ``{endpoint}common`` so that tokens never travel
to a host the user did not name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from trashscan.errors import AccountError, UsageError
from trashscan.kinds import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS
from trashscan.models import Account
from trashscan.options import TEXT, WORDS, OptionSpec, extensions, one_of, resolve

PROVIDER = "onedrive"
GRAPH_ROOT = "https://graph.microsoft.com/"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com/common"
# Graph root -> the login authority of the same cloud (Microsoft's national cloud table).
NATIONAL_AUTHORITIES: Mapping[str, str] = {
    "graph.microsoft.us": "https://login.microsoftonline.us/common",
    "dod-graph.microsoft.us": "https://login.microsoftonline.us/common",
    "microsoftgraph.chinacloudapi.cn": "https://login.chinacloudapi.cn/common",
}
# Personal restore needs Files.ReadWrite.All (the least privilege the driveItem restore page
# lists for personal accounts); the business recycle bin is listed with Files.* and its (beta,
# undocumented) restore may need Sites.ReadWrite.All. offline_access is added by msal itself.
DEFAULT_SCOPES = ("Files.ReadWrite.All", "Sites.ReadWrite.All")
DRIVE_TYPES = frozenset({"personal", "business"})
# msal adds these itself and refuses them in a scope list.
RESERVED_SCOPES = frozenset({"offline_access", "openid", "profile"})
DEFAULT_EXTENSIONS = PHOTO_EXTENSIONS | VIDEO_EXTENSIONS

REGISTER_HINT = (
    "register an app in the Microsoft Entra admin center (App registrations > New "
    "registration, 'Accounts in any organizational directory and personal Microsoft accounts'), "
    "set Authentication > 'Allow public client flows' to Yes, add the delegated Microsoft Graph "
    "permissions Files.ReadWrite.All and Sites.ReadWrite.All, then run "
    f"`trashscan accounts add {PROVIDER} NAME --option client_id=APPLICATION_ID`"
)


def login_hint(account: Account) -> str:
    """The command that signs an account in again (it keeps the account's other options)."""
    return f"re-run `trashscan accounts add {PROVIDER} {account.name}`"


def _root(url: str, what: str, account: Account) -> str:
    problem = https_url(url)
    if problem:
        raise AccountError(f"{what} {url!r} of account {account.name!r} {problem}")
    return url if url.endswith("/") else url + "/"


def https_url(url: str) -> str | None:
    parts = urlsplit(url)
    return None if parts.scheme == "https" and parts.netloc else "must be an https:// URL"


def authority_url(url: str) -> str | None:
    """A sign-in authority is an https:// URL whose path names the tenant (``/common``)."""
    return https_url(url) or (
        None if urlsplit(url).path.strip("/") else "must name a tenant, e.g. .../common"
    )


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec(
        "client_id", TEXT, "application (client) id of your own Entra app (public client flows on)"
    ),
    OptionSpec(
        "authority",
        TEXT,
        f"sign-in authority (default: the one of the endpoint's cloud, else {DEFAULT_AUTHORITY})",
    ),  # https and a tenant are checked when used, as the endpoint is: that account fails alone
    OptionSpec(
        "scopes",
        WORDS,
        "override the delegated scopes (default: " + " ".join(DEFAULT_SCOPES) + ")",
    ),
    OptionSpec(
        "media_extensions",
        WORDS,
        "file extensions to list, instead of the photo and video types",
        check=extensions,
    ),
    OptionSpec(
        "drive_type",
        TEXT,
        "personal or business (written by `accounts add`)",
        check=one_of(*sorted(DRIVE_TYPES, reverse=True)),
    ),
)


@dataclass(frozen=True, slots=True)
class Settings:
    client_id: str
    authority: str
    graph: str  # the Graph root, ending in "/": API paths are {graph}v1.0/... and {graph}beta/...
    scopes: tuple[str, ...]
    drive_type: str | None
    extensions: frozenset[str] | None  # None: photos and videos by mime type or extension
    endpoint_overridden: bool

    @classmethod
    def from_account(cls, account: Account, *, for_login: bool = False) -> Settings:
        values = resolve(OPTIONS, account)
        client_id = values["client_id"]
        if client_id is None:
            if for_login:
                raise UsageError(
                    f"{PROVIDER} needs the application (client) id of your own app registration",
                    hint=REGISTER_HINT,
                )
            raise AccountError(
                f"OneDrive account {account.name!r} has no client_id", hint=REGISTER_HINT
            )
        graph = _root(account.endpoint or GRAPH_ROOT, "endpoint", account)
        authority = values["authority"]
        if authority is None:
            authority = default_authority(graph, overridden=bool(account.endpoint))
        problem = authority_url(authority)
        if problem:
            raise AccountError(f"authority {authority!r} of account {account.name!r} {problem}")
        authority = authority.rstrip("/")
        return cls(
            client_id=client_id.strip(),
            authority=authority,
            graph=graph,
            scopes=parse_scopes(values["scopes"]),
            drive_type=values["drive_type"],
            extensions=as_extensions(values["media_extensions"]),
            endpoint_overridden=bool(account.endpoint),
        )

    def v1(self, path: str) -> str:
        return f"{self.graph}v1.0/{path.lstrip('/')}"

    def beta(self, path: str) -> str:
        return f"{self.graph}beta/{path.lstrip('/')}"

    def is_media(self, name: str | None, mime_type: str | None = None) -> bool:
        """Photos and videos: by extension, or by mime type unless extensions are configured."""
        suffix = PurePosixPath(name or "").suffix.lower()
        if self.extensions is not None:
            return suffix in self.extensions
        if mime_type and mime_type.split("/", 1)[0].lower() in {"image", "video"}:
            return True
        return suffix in DEFAULT_EXTENSIONS


def default_authority(graph: str, *, overridden: bool) -> str:
    if not overridden:
        return DEFAULT_AUTHORITY
    host = urlsplit(graph).hostname or ""
    return NATIONAL_AUTHORITIES.get(host, f"{graph}common")


def parse_scopes(words: list[str] | None) -> tuple[str, ...]:
    """The scopes asked for; the ones msal adds itself are left out (it refuses them)."""
    return tuple(w for w in words or () if w.lower() not in RESERVED_SCOPES) or DEFAULT_SCOPES


def as_extensions(words: list[str] | None) -> frozenset[str] | None:
    """``.jpg`` form, lower case; None when not configured (photos and videos by type)."""
    if words is None:
        return None
    return frozenset(("." + w.lstrip(".")).lower() for w in words if w.lstrip("."))
