"""The Google fake's consent page: the browser half of the installed-app (loopback) sign-in.

Google's flow for desktop apps [DOC developers.google.com/identity/protocols/oauth2/native-app;
google.md §1.6]: the app listens on a loopback port and sends the person to the client's
``auth_uri`` (``https://accounts.google.com/o/oauth2/auth``) with ``client_id``,
``redirect_uri`` (``http://localhost:PORT/`` or ``http://127.0.0.1:PORT/``: any port is allowed
for a Desktop client), ``response_type=code``, ``scope``, ``state``, ``access_type=offline``
(a refresh token), ``prompt=consent`` and PKCE's ``code_challenge`` with
``code_challenge_method=S256`` (google-auth-oauthlib sends all of these). The person picks an
account and allows; Google redirects the browser to ``redirect_uri`` with ``code``, ``state``
and ``scope`` (denied: ``error=access_denied``), and the app exchanges the code at the
``token_uri`` (:meth:`AuthState.token_endpoint`, ``grant_type=authorization_code``).

An unknown client is Google's "Error 401: invalid_client" page, a redirect that is not loopback
"Error 400: redirect_uri_mismatch", both shown in the browser without redirecting [DOC ibid.,
"redirect_uri_mismatch"; page wording UNVERIFIED]. The fake's pages are one plain form.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from trashscan.sandbox.server import Request, Response
from trashscan_google_drive.sandbox.auth import AuthState

__all__ = ["AUTH_PATH", "ConsentPage"]

AUTH_PATH = "/o/oauth2/auth"
_KEPT = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "access_type",
    "prompt",
    "code_challenge",
    "code_challenge_method",
)


class ConsentPage:
    """``GET`` shows the account chooser and the scopes, ``POST`` ("Allow") redirects back."""

    def __init__(self, auth: AuthState, people: Callable[[], Mapping[str, str]]) -> None:
        self.auth = auth
        self.people = people  # email -> display name: who may be signed in in the browser

    def register(self, router: Any) -> None:
        router.add("GET", AUTH_PATH, self.show)
        router.add("POST", AUTH_PATH, self.answer)

    def show(self, request: Request, match: Any) -> Response:
        query = {key: values[-1] for key, values in request.query.items()}
        problem = self._problem(query)
        if problem is not None:
            return Response.html(problem[1], "", problem[0])
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
            for name in _KEPT
            if name in query
        )
        people = "".join(
            f'<option value="{html.escape(email)}">{html.escape(email)}</option>'
            for email in self.people()
        )
        scopes = "".join(f"<li>{html.escape(s)}</li>" for s in query.get("scope", "").split())
        body = (
            f"<p>The app wants to:</p><ul>{scopes}</ul><form method='post'>{hidden}"
            f"<label>Choose an account <select name='account'>{people}</select></label> "
            "<button name='decision' value='allow'>Allow</button> "
            "<button name='decision' value='deny'>Cancel</button></form>"
        )
        return Response.html("Sign in with Google (sandbox)", body)

    def _problem(self, query: Mapping[str, str]) -> tuple[int, str] | None:
        with self.auth.lock:
            known = query.get("client_id", "") in self.auth.clients
        if not known:
            return 401, "Error 401: invalid_client"
        redirect = urlsplit(query.get("redirect_uri", ""))
        if redirect.scheme != "http" or redirect.hostname not in ("localhost", "127.0.0.1"):
            return 400, "Error 400: redirect_uri_mismatch"
        if query.get("response_type") != "code" or not query.get("scope"):
            return 400, "Error 400: invalid_request"
        if query.get("code_challenge") and query.get("code_challenge_method") not in (
            None,
            "S256",
            "plain",
        ):
            return 400, "Error 400: invalid_request"
        return None

    def answer(self, request: Request, match: Any) -> Response:
        try:
            form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8")).items()}
        except UnicodeDecodeError:
            return Response.html("Error 400: invalid_request", "", 400)
        problem = self._problem(form)
        if problem is not None:
            return Response.html(problem[1], "", problem[0])
        email = form.get("account", "")
        if email not in self.people():
            return Response.html("Error 400: invalid_request", "<p>No such account.</p>", 400)
        back: dict[str, str] = {}
        if form.get("decision") == "allow":
            scopes = frozenset(form["scope"].split())
            back["code"] = self.auth.authorization_code(
                form["client_id"],
                email,
                scopes,
                redirect_uri=form["redirect_uri"],
                code_challenge=form.get("code_challenge") or None,
                challenge_method=form.get("code_challenge_method") or "plain",
            )
            back["scope"] = " ".join(sorted(scopes))
        else:
            back["error"] = "access_denied"
        if "state" in form:
            back["state"] = form["state"]
        separator = "&" if "?" in form["redirect_uri"] else "?"
        location = form["redirect_uri"] + separator + urlencode(back)
        return Response(302, b"", {"Location": location, "Content-Type": "text/html"})
