"""The OneDrive fake's Graph JSON batching (``POST /v1.0/$batch``), over HTTPS with plain
``requests``, for a Personal (``erin``) and a work or school (``frank``) account.

Each rule quotes Microsoft's page it comes from: concepts/json-batching.md
(microsoftgraph/microsoft-graph-docs-contrib, "json-batching"), its older revision
("json-batching, 2018") and concepts/known-issues.md "JSON Batching" ("known issues"), both in
microsoftgraph/microsoft-graph-docs; see :mod:`trashscan_onedrive.sandbox.batch`."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from trashscan.testing import RequestLog
from trashscan_onedrive.sandbox.fake import OneDriveFake

from . import test_fake_support as support
from .test_fake_support import Graph

# The shared fixtures (see test_fake_support), bound here so pytest finds them.
erin, fake, frank, http, seeded, tables = (
    support.erin,
    support.fake,
    support.frank,
    support.http,
    support.seeded,
    support.tables,
)

BATCH = "/v1.0/$batch"


def _get(part_id: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"id": part_id, "method": "GET", "url": url, **extra}


def _batch(graph: Graph, requests_: list[dict[str, Any]], path: str = BATCH) -> requests.Response:
    return graph.post(path, json={"requests": requests_})


def _by_id(response: requests.Response) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.text
    answers = response.json()["responses"]
    return {a["id"]: a for a in answers}


def _bad_request(response: requests.Response, message: str) -> None:
    """The batch's own refusal: 400 in Graph's error envelope."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"] == message
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()


@pytest.fixture
def log(fake: OneDriveFake) -> RequestLog:
    assert fake.server is not None
    result = RequestLog(fake.server)
    result.mark()
    return result


def test_batch_answers_each_part_as_the_direct_call(
    erin: Graph, fake: OneDriveFake, log: RequestLog
) -> None:
    photo = fake.find("erin", "/Pictures/Camera Roll/IMG_0001.jpg")
    roll = photo.parent_id
    # json-batching: "the absolute URL is https://graph.microsoft.com/v1.0/users, this url is
    # /users"; its own example also sends "users?$select=..." without the leading slash.
    parts = [
        _get("drive", "/me/drive"),
        _get("photo", f"/me/drive/items/{photo.id}?$select=id,name,file"),
        _get("kids", f"me/drive/items/{roll}/children?$top=2"),
        _get("gone", "/me/drive/items/NOPE!1"),
    ]
    log.mark()
    response = _batch(erin, parts)
    # "If the batch request is parseable, the status code is 200. A 200 status code on the
    # batch response headers doesn't indicate that the individual requests inside the batch
    # succeeded. This is why each individual response in the responses property has a status
    # code."
    answers = _by_id(response)
    assert set(answers) == {"drive", "photo", "kids", "gone"}
    assert answers["drive"]["status"] == 200
    assert answers["drive"]["body"]["driveType"] == "personal"
    assert set(answers["photo"]["body"]) - {"@odata.context"} == {"id", "name", "file"}
    assert answers["photo"]["body"]["name"] == "IMG_0001.jpg"
    kids = answers["kids"]["body"]
    assert len(kids["value"]) == 2 and "@odata.nextLink" in kids
    assert erin.get(kids["@odata.nextLink"]).status_code == 200
    assert answers["gone"]["status"] == 404
    assert answers["gone"]["body"]["error"]["code"] == "itemNotFound"
    # "The headers property in each individual response represents the headers returned by the
    # server, for example, Cache-Control and Content-Type headers."
    assert answers["drive"]["headers"]["Content-Type"].startswith("application/json")
    assert "Cache-Control" in answers["drive"]["headers"]
    direct = erin.get(f"/v1.0/me/drive/items/{photo.id}", params={"$select": "id,name,file"})
    assert direct.json() == answers["photo"]["body"]
    # One round trip, its parts visible: the log's counts keep meaning round trips.
    since = log.since()
    assert [(r.method, r.path) for r in since[:1]] == [("POST", BATCH)]
    assert log.calls()[0] == ("POST", BATCH, 200)
    assert log.parts() == [
        ("GET", "/v1.0/me/drive", 200),
        ("GET", f"/v1.0/me/drive/items/{photo.id}", 200),
        ("GET", f"/v1.0/me/drive/items/{roll}/children", 200),
        ("GET", "/v1.0/me/drive/items/NOPE!1", 404),
    ]
    assert since[0].parts[2].query == {"$top": ["2"]}
    assert log.operations()[:4] == log.parts()
    assert fake.unmodelled_calls == [] and fake.refused_calls == []


def test_answers_come_in_another_order_unless_told(erin: Graph, fake: OneDriveFake) -> None:
    # json-batching: "Individual responses might appear in a different order than the requests.
    # The id property can be used to correlate individual requests and responses."
    parts = [_get(str(n), "/me/drive/root") for n in range(1, 6)]
    ids = [p["id"] for p in parts]

    def order() -> list[str]:
        response = _batch(erin, parts)
        assert response.status_code == 200
        return [a["id"] for a in response.json()["responses"]]

    shuffled = order()
    assert sorted(shuffled) == sorted(ids) and shuffled != ids
    assert order() == shuffled  # deterministic
    fake.batch.order = "reverse"
    assert order() == ids[::-1]
    fake.batch.order = "request"
    assert order() == ids
    fake.batch.order = "shuffled"
    two = _batch(erin, parts[:2]).json()["responses"]
    assert [a["id"] for a in two] == ["2", "1"]  # never the request order


def test_twenty_requests_at_most(erin: Graph, log: RequestLog) -> None:
    # json-batching: "JSON batch requests are currently limited to 20 individual requests."
    twenty = [_get(str(n), "/me/drive") for n in range(20)]
    answers = _by_id(_batch(erin, twenty))
    assert len(answers) == 20 and {a["status"] for a in answers.values()} == {200}
    log.mark()
    too_many = _batch(erin, [*twenty, _get("20", "/me/drive")])
    _bad_request(too_many, "Number of requests inside batch exceeds the limit.")
    assert log.calls() == [("POST", BATCH, 400)] and log.parts() == []  # nothing ran


def test_malformed_batches_are_400(erin: Graph) -> None:
    # json-batching: "If the batch request itself is malformed, the status code is 400."
    # "A JSON batch request body consists of a single JSON object with one required property:
    # requests."; id, method and url are "Required".
    invalid = "Invalid batch payload format."
    headers = {"Content-Type": "application/json"}
    _bad_request(erin.post(BATCH, data=b"{not json", headers=headers), invalid)
    _bad_request(erin.post(BATCH, json=[_get("1", "/me")]), invalid)
    _bad_request(erin.post(BATCH, json={"requests": "x"}), invalid)
    _bad_request(_batch(erin, []), invalid)  # an empty batch is refused too
    for broken in (
        {"method": "GET", "url": "/me/drive"},  # no id
        {"id": "1", "url": "/me/drive"},  # no method
        {"id": "1", "method": "GET"},  # no url
        {"id": 1, "method": "GET", "url": "/me/drive"},  # "id ... String."
        {"id": "1", "method": "FETCH", "url": "/me/drive"},
        {"id": "1", "method": "GET", "url": "/me/drive", "headers": ["Accept"]},
        "GET /me/drive",
    ):
        _bad_request(_batch(erin, [_get("0", "/me/drive"), broken]), invalid)  # type: ignore[list-item]


def test_ids_are_unique_regardless_of_case(erin: Graph) -> None:
    # json-batching: id is "Not case-sensitive. Must be unique in the batch, otherwise, the
    # batch request fails with a 400 error code."
    _bad_request(
        _batch(erin, [_get("1", "/me/drive"), _get("1", "/me/drive/root")]),
        "Request Id 1 has to be unique in a batch.",
    )
    _bad_request(
        _batch(erin, [_get("a", "/me/drive"), _get("A", "/me/drive/root")]),
        "Request Id A has to be unique in a batch.",
    )


def test_bodies_need_a_content_type_and_writes_need_bodies(
    erin: Graph, fake: OneDriveFake, log: RequestLog
) -> None:
    ids = fake.manifest["erin"].ids
    fake.between_scans()
    deleted = ids["/Pictures/Camera Roll/IMG_0007.heic"]
    restore = f"/me/drive/items/{deleted}/restore"
    # json-batching: "When a body is included with the request, the headers object must contain
    # a value for Content-Type."
    no_type = {"id": "1", "method": "POST", "url": restore, "body": {}}
    _bad_request(
        _batch(erin, [no_type]),
        "Request 1: a Content-Type header is required when a body is given.",
    )
    # "While the target URL doesn't require a request body, you must still specify the headers
    # and body parameters where only body can be an empty object."
    no_body = {"id": "1", "method": "POST", "url": restore}
    _bad_request(_batch(erin, [no_body]), "Request 1: a POST request requires a body.")
    assert fake.restore_seen == []
    log.mark()
    ok = {**no_type, "headers": {"Content-Type": "application/json"}}
    answer = _by_id(_batch(erin, [ok]))["1"]
    assert answer["status"] == 200 and answer["body"]["name"] == "IMG_0007.heic"
    # The same handler as the direct call: the restore is recorded as one.
    assert [(r.kind, r.ids, r.status) for r in fake.restore_seen] == [
        ("driveItem", (deleted,), 200)
    ]
    assert log.parts() == [("POST", f"/v1.0/me/drive/items/{deleted}/restore", 200)]


def test_each_part_is_authorised_on_its_own(
    erin: Graph, fake: OneDriveFake, http: requests.Session
) -> None:
    # json-batching, 2018: its example answers a part "status": 401 inside a 200 batch.
    fake.expire_tokens("erin")
    answers = _by_id(_batch(erin, [_get("1", "/me/drive"), _get("2", "/me/drive/root")]))
    for answer in answers.values():
        assert answer["status"] == 401
        assert answer["body"]["error"]["code"] == "InvalidAuthenticationToken"
        assert "WWW-Authenticate" in answer["headers"]
    assert fake.server is not None
    anonymous = http.post(
        fake.server.url(BATCH), json={"requests": [_get("1", "/me/drive")]}, timeout=10
    )
    assert _by_id(anonymous)["1"]["status"] == 401


def test_parts_are_throttled_individually(erin: Graph, fake: OneDriveFake, log: RequestLog) -> None:
    # json-batching: "Requests in a batch are evaluated individually against the applicable
    # throttling limits and if any request exceeds the limits, it fails with a status of 429."
    # throttling: "The failed response includes the Retry-After field in the response header."
    assert fake.server is not None and fake.server.faults is not None
    photo = fake.find("erin", "/Pictures/Camera Roll/IMG_0001.jpg")
    fake.server.faults.add(fake.http_fault(429, 7), path=f"/items/{photo.id}$")
    parts = [_get("drive", "/me/drive"), _get("photo", f"/me/drive/items/{photo.id}")]
    answers = _by_id(_batch(erin, parts))
    assert answers["drive"]["status"] == 200
    throttled = answers["photo"]
    assert throttled["status"] == 429 and throttled["headers"]["Retry-After"] == "7"
    assert throttled["body"]["error"]["code"] == "activityLimitReached"
    assert fake.server.faults.pending() == 0
    # The client re-sends only that id.
    again = _by_id(_batch(erin, parts[1:]))
    assert again["photo"]["status"] == 200
    # A fault on the batch's own path hits the whole round trip before any part runs.
    fake.server.faults.add(fake.http_fault(503, 2), path=r"/\$batch")
    log.mark()
    whole = _batch(erin, parts)
    assert whole.status_code == 503 and whole.headers["Retry-After"] == "2"
    assert log.calls() == [("POST", BATCH, 503)] and log.parts() == []


def test_depends_on_runs_in_order_and_fails_dependents_with_424(
    erin: Graph, fake: OneDriveFake, log: RequestLog
) -> None:
    # json-batching: "You can specify the requests in the batch to be executed in a specified
    # order by using the dependsOn property." (its example: 1, then 2, then 4, then 3)
    serial = [
        _get("1", "/me/drive"),
        _get("2", "/me/drive/root", dependsOn=["1"]),
        _get("4", "/me/drive/special/cameraroll", dependsOn=["2"]),
        _get("3", "/me/drive/root/children", dependsOn=["4"]),
    ]
    log.mark()
    answers = _by_id(_batch(erin, serial))
    assert {a["status"] for a in answers.values()} == {200}
    assert [p[1] for p in log.parts()] == [
        "/v1.0/me/drive",
        "/v1.0/me/drive/root",
        "/v1.0/me/drive/special/cameraroll",
        "/v1.0/me/drive/root/children",
    ]
    # "If an individual request fails, any request that depends on that request fails with
    # status code 424 (Failed Dependency)." A 424 is a failure too, so it cascades.
    failing = [dict(p) for p in serial]
    failing[1]["url"] = "/me/drive/items/NOPE!1"
    log.mark()
    answers = _by_id(_batch(erin, failing))
    assert [answers[i]["status"] for i in ("1", "2", "4", "3")] == [200, 404, 424, 424]
    assert answers["4"]["body"]["error"]["code"] == "failedDependency"
    assert [s for _, _, s in log.parts()] == [200, 404, 424, 424]
    # known issues "Same - all individual requests that state a dependency in the dependsOn
    # property, state the same dependency."
    same = [
        _get("a", "/me/drive/items/NOPE!1"),
        _get("b", "/me/drive", dependsOn=["A"]),  # ids are not case-sensitive
        _get("c", "/me/drive/root", dependsOn=["a"]),
    ]
    answers = _by_id(_batch(erin, same))
    assert [answers[i]["status"] for i in "abc"] == [404, 424, 424]
    # A throttled part is a failed one: its dependents get 424 and are not run.
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(fake.http_fault(429, 1), path=r"/me/drive$")
    answers = _by_id(_batch(erin, serial))
    assert [answers[i]["status"] for i in ("1", "2", "4", "3")] == [429, 424, 424, 424]


def test_dependency_shapes_graph_refuses(erin: Graph, fake: OneDriveFake) -> None:
    # json-batching: "Batch should be either fully sequential or fully parallel."; known issues:
    # "requests can only depend on a single other request, and must follow one of these three
    # patterns: Parallel ... Serial ... Same".
    mixed = [
        _get("1", "/me/drive"),
        _get("2", "/me/drive/root", dependsOn=["1"]),
        _get("3", "/me/drive/root/children", dependsOn=["2"]),
        _get("4", "/me/drive/special/cameraroll", dependsOn=["1"]),
    ]
    message = "Batch should be either fully sequential or fully parallel"
    _bad_request(_batch(erin, mixed), message)
    two = [_get("1", "/me/drive"), _get("2", "/me"), _get("3", "/me/drive", dependsOn=["1", "2"])]
    _bad_request(_batch(erin, two), message)
    unknown = [_get("1", "/me/drive"), _get("2", "/me/drive/root", dependsOn=["9"])]
    _bad_request(
        _batch(erin, unknown),
        "Request 2 depends on 9, which is not another request of this batch.",
    )
    fake.batch.strict_dependencies = False  # any acyclic graph, for a lenient server
    answers = _by_id(_batch(erin, mixed))
    assert {a["status"] for a in answers.values()} == {200}
    cycle = [
        _get("1", "/me/drive", dependsOn=["2"]),
        _get("2", "/me/drive/root", dependsOn=["1"]),
    ]
    _bad_request(_batch(erin, cycle), "The dependsOn of this batch form a cycle.")


def test_urls_are_relative_to_the_batch_version(
    erin: Graph, frank: Graph, fake: OneDriveFake
) -> None:
    # known issues "URIs must be relative": "Microsoft Graph then makes these URLs absolute by
    # using the version endpoint included in the batch URL."
    drive = frank.get("/v1.0/me/drive", params={"$select": "id,sharePointIds"}).json()[
        "sharePointIds"
    ]
    site = f"{drive['siteUrl'].split('/')[2]},{drive['siteId']},{drive['webId']}"
    bin_url = f"/sites/{site}/recycleBin/items?$top=3"
    beta = _by_id(_batch(frank, [_get("bin", bin_url), _get("me", "/me/drive")], "/beta/$batch"))
    assert beta["bin"]["status"] == 200 and len(beta["bin"]["body"]["value"]) == 3
    assert beta["bin"]["body"]["@odata.context"].startswith(frank.base + "/beta/")
    assert beta["me"]["body"]["driveType"] == "business"
    # Personal and work or school use the same endpoint; the token tells them apart.
    personal = _by_id(_batch(erin, [_get("bin", bin_url)], "/beta/$batch"))["bin"]
    assert personal["status"] == 400
    assert personal["body"]["error"]["message"] == "Tenant does not have a SPO license."
    # The version is not repeated in the url: /v1.0/v1.0/me is an unknown segment.
    doubled = _by_id(_batch(erin, [_get("1", "/v1.0/me/drive")]))["1"]
    assert doubled["status"] == 400
    assert [c.path for c in fake.unmodelled_calls] == ["/v1.0/v1.0/me/drive"]
    absolute = _by_id(_batch(erin, [_get("1", f"{erin.base}/v1.0/me/drive")]))["1"]
    assert absolute["status"] == 400 and absolute["body"]["error"]["code"] == "BadRequest"
    assert len(fake.unmodelled_calls) == 2
    # known issues "No nested batch": "JSON batch requests must not contain any nested batch
    # requests."
    nested = {"id": "1", "method": "POST", "url": "/$batch", "body": {"requests": []}}
    nested["headers"] = {"Content-Type": "application/json"}
    _bad_request(_batch(erin, [nested]), "Nested batch requests are not supported.")


def test_destructive_parts_are_refused_like_direct_calls(erin: Graph, fake: OneDriveFake) -> None:
    photo = fake.find("erin", "/Pictures/Camera Roll/IMG_0001.jpg")
    answers = _by_id(
        _batch(erin, [{"id": "1", "method": "DELETE", "url": f"/me/drive/items/{photo.id}"}])
    )
    assert answers["1"]["status"] == 403
    assert [(c.method, c.path) for c in fake.refused_calls] == [
        ("DELETE", f"/v1.0/me/drive/items/{photo.id}")
    ]
    assert fake.find("erin", photo.id).live
