"""The Dropbox fake's ``/oauth2/authorize`` page: where a person clicks "Allow" and gets a code.

Dropbox documents ``/oauth2/authorize`` as "not an API call" but the web page that lets the user
sign in and authorise an app [DOC www.dropbox.com/developers/documentation/http/documentation
#oauth2-authorize]. Its query: ``client_id`` (the app key, required), ``response_type=code``,
``redirect_uri`` (optional for the code flow: "If the redirect URI is omitted, the code will be
presented directly to the user and they will be invited to enter the information in your
app"), ``state``, ``token_access_type`` (``offline`` gives a refresh token), ``scope``
(space-separated), and PKCE's ``code_challenge`` with ``code_challenge_method`` (``S256`` or
``plain``) [DOC ibid.; SDK oauth.py ``_get_authorize_url``; dropbox.md §5]. After "Allow"
without a redirect, Dropbox shows the code on the page ("Access code generated"), the person
copies it into the app, and the app posts it to ``/oauth2/token`` with its PKCE verifier.

The fake models the browser part with one form: the person picks which seeded user the
"browser" is signed in as (the real page would show whoever is signed in) and allows or
denies. "Allow" mints a one-time code bound to the app, the user, the scopes asked for and the
PKCE challenge, which :meth:`AuthState.token_endpoint` checks. A bad request (an unknown
``client_id``, a ``response_type`` other than ``code``, a ``redirect_uri``: the fake's app
registers none) is an HTML error page with status 400, as Dropbox answers in the browser
(its exact wording: UNVERIFIED).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from trashscan.sandbox.server import Request, Response
from trashscan_dropbox.sandbox.auth import DEFAULT_SCOPES, AuthState, s256

__all__ = ["AuthorizePage"]

_HIDDEN = ("client_id", "response_type", "state", "token_access_type", "scope")
_HIDDEN_PKCE = ("code_challenge", "code_challenge_method")
CODE_ELEMENT = re.compile(r'<input[^>]*\bid="code"[^>]*\bvalue="([^"]+)"')  # for tests and tools


class AuthorizePage:
    """``GET`` shows the consent form, ``POST`` (the form's "Allow"/"Deny") answers it."""

    def __init__(self, auth: AuthState, users: Callable[[], Mapping[str, str]]) -> None:
        self.auth = auth
        self.users = users  # account name -> email, the users the "browser" may be signed in as

    def register(self, router: Any) -> None:
        router.add("GET", r"/oauth2/authorize", self.show)
        router.add("POST", r"/oauth2/authorize", self.answer)

    # -- GET: the consent page ----------------------------------------------------------------

    def show(self, request: Request, match: Any) -> Response:
        query = {key: values[-1] for key, values in request.query.items()}
        problem = self._problem(query)
        if problem is not None:
            return Response.html("Error (400)", f"<p>{html.escape(problem)}</p>", 400)
        fields = [*_HIDDEN, *_HIDDEN_PKCE]
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(query[name])}">'
            for name in fields
            if name in query
        )
        users = "".join(
            f'<option value="{html.escape(name)}">{html.escape(email)}</option>'
            for name, email in self.users().items()
        )
        scopes = query.get("scope") or " ".join(sorted(DEFAULT_SCOPES))
        body = (
            "<p>The app would like to access the files and folders in your Dropbox.</p>"
            f"<p>Permissions asked for: {html.escape(scopes)}</p>"
            f"<form method='post'>{hidden}"
            f"<label>Signed in as <select name='account'>{users}</select></label> "
            "<button name='decision' value='allow'>Allow</button> "
            "<button name='decision' value='deny'>Cancel</button></form>"
        )
        return Response.html("API Request Authorization (Dropbox sandbox)", body)

    def _problem(self, query: Mapping[str, str]) -> str | None:
        if query.get("client_id") != self.auth.app_key:
            return "Invalid client_id: no app has this key."
        if query.get("response_type") != "code":
            return 'Invalid response_type: only "code" is served here.'
        if query.get("redirect_uri"):
            return (
                "Invalid redirect_uri. It must exactly match one of the redirect URIs you've "
                "pre-configured for your app (this app has none: leave it out to be shown "
                "the code)."
            )
        method = query.get("code_challenge_method")
        if query.get("code_challenge") and method not in (None, "S256", "plain"):
            return 'Invalid code_challenge_method: "S256" or "plain".'
        if query.get("token_access_type") not in (None, "offline", "online", "legacy"):
            return "Invalid token_access_type."
        return None

    # -- POST: "Allow" or "Cancel" ------------------------------------------------------------

    def answer(self, request: Request, match: Any) -> Response:
        try:
            form = {k: v[-1] for k, v in parse_qs(request.body.decode("utf-8")).items()}
        except UnicodeDecodeError:
            return Response.html("Error (400)", "<p>The form was not UTF-8.</p>", 400)
        problem = self._problem(form)
        if problem is not None:
            return Response.html("Error (400)", f"<p>{html.escape(problem)}</p>", 400)
        account = form.get("account", "")
        if account not in self.users():
            return Response.html("Error (400)", "<p>No such user in this sandbox.</p>", 400)
        if form.get("decision") != "allow":
            return Response.html("Access denied", "<p>The app was not given access.</p>")
        challenge = form.get("code_challenge") or None
        if challenge is not None and form.get("code_challenge_method") == "plain":
            challenge = s256(challenge)  # the verifier is the challenge itself
        scopes = frozenset((form.get("scope") or "").split()) or DEFAULT_SCOPES
        code = self.auth.authorization_code(account, code_challenge=challenge, scopes=scopes)
        body = (
            "<p>Access code generated. Enter this code into the app to finish the process.</p>"
            f'<p><input id="code" readonly size="48" value="{html.escape(code)}"></p>'
        )
        return Response.html("Access code generated", body)
