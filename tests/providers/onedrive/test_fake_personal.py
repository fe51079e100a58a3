"""The OneDrive fake's Graph surface for a Personal drive (``erin``), over HTTPS with
``requests``: drive and item reads, delta enumeration and change tracking, restore, throttling
and the refusal of destructive calls."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import requests

from trashscan_onedrive.sandbox.fake import OneDriveFake
from trashscan_onedrive.sandbox.wire import GRAPH_JSON_TYPE

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

DELTA = "/v1.0/me/drive/root/delta"


def _by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["name"]: i for i in items if "name" in i}


def _enrol(erin: Graph) -> str:
    """The enrolment pass a plugin makes: a full delta, keeping the deltaLink."""
    _, link, _ = erin.delta_all()
    return link


def test_drive_get_is_personal_with_quota(erin: Graph) -> None:
    response = erin.get("/v1.0/me/drive")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == GRAPH_JSON_TYPE
    assert response.headers["request-id"] and response.headers["client-request-id"]
    drive = response.json()
    assert drive["driveType"] == "personal"
    assert drive["owner"]["user"]["displayName"] == "Erin Example"
    assert drive["quota"]["deleted"] > 0  # the pre-enrolment deletions
    assert drive["quota"]["used"] >= drive["quota"]["deleted"]
    assert "sharePointIds" not in drive
    selected = erin.get("/v1.0/me/drive", params={"$select": "id,driveType,sharePointIds"}).json()
    assert set(selected) - {"@odata.context"} == {"id", "driveType"}  # none on personal


def test_items_by_id_path_and_children(erin: Graph) -> None:
    root = erin.get("/v1.0/me/drive/root").json()
    assert "root" in root and root["folder"]["childCount"] == 3
    photo = erin.get("/v1.0/me/drive/root:/Pictures/Camera Roll/IMG_0001.jpg").json()
    assert photo["file"]["mimeType"] == "image/jpeg"
    assert {"sha1Hash", "quickXorHash"} <= photo["file"]["hashes"].keys()
    assert "takenDateTime" in photo["photo"] and "width" in photo["image"]
    assert photo["parentReference"]["path"] == "/drive/root:/Pictures/Camera Roll"
    assert erin.get(f"/v1.0/me/drive/items/{quote(photo['id'])}").json()["name"] == "IMG_0001.jpg"
    parent = photo["parentReference"]["id"]
    by_parent = erin.get(f"/v1.0/me/drive/items/{parent}:/img_0001.JPG:")  # case-insensitive
    assert by_parent.json()["id"] == photo["id"]
    video = erin.get("/v1.0/me/drive/root:/Pictures/Camera Roll/VID_0001.mp4").json()
    assert video["video"]["duration"] > 0
    free = erin.get(f"/v1.0/me/drive/items/{parent}:/IMG_9999.jpg")
    assert free.status_code == 404
    error = free.json()["error"]
    assert error["code"] == "itemNotFound"
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()

    first = erin.get(f"/v1.0/me/drive/items/{parent}/children", params={"$top": 5}).json()
    names = [i["name"] for i in first["value"]]
    assert names == sorted(names, key=str.lower) and len(names) == 5
    seen, link = list(names), first["@odata.nextLink"]
    while link:
        page = erin.get(link).json()
        seen += [i["name"] for i in page["value"]]
        link = page.get("@odata.nextLink")
    assert len(seen) == len(set(seen)) == 22
    by_path = erin.get("/v1.0/me/drive/root:/Pictures:/children").json()
    assert {i["name"] for i in by_path["value"]} == {"Camera Roll", "2025 Trip", "Screenshots"}
    roll = erin.get("/v1.0/me/drive/special/cameraroll").json()
    assert roll["id"] == parent and roll["specialFolder"] == {"name": "cameraRoll"}
    special_kids = erin.get("/v1.0/me/drive/special/cameraroll/children", params={"$top": 1})
    assert len(special_kids.json()["value"]) == 1
    expanded = erin.get("/v1.0/me/drive/root:/Pictures", params={"$expand": "children"}).json()
    assert len(expanded["children"]) == 3
    assert erin.get("/v1.0/me/drive/special/music").status_code == 404


def test_full_delta_pages_parents_first(erin: Graph, fake: OneDriveFake) -> None:
    items, link, pages = erin.delta_all(params={"$top": 7})
    assert pages == 6  # 41 items: 35 files and 6 folders (root included)
    ids = [i["id"] for i in items]
    assert len(ids) == len(set(ids)) == 41
    assert "root" in items[0]
    position = {i["id"]: n for n, i in enumerate(items)}
    for item in items[1:]:
        assert position[item["parentReference"]["id"]] < position[item["id"]]
        assert "path" not in item["parentReference"]  # never in delta
        assert "deleted" not in item
    names = {i["name"] for i in items}
    assert "IMG_0101.jpg" not in names  # deleted before enrolment: invisible
    assert "?token=" in link and link.startswith(erin.base + DELTA)
    nothing = erin.get(link).json()
    assert nothing["value"] == [] and "@odata.deltaLink" in nothing


def test_between_scans_deletions_show_in_next_delta(erin: Graph, fake: OneDriveFake) -> None:
    link = _enrol(erin)
    fake.between_scans()
    fake.between_scans()  # idempotent
    items, next_link, _ = erin.delta_all(link)
    assert len(items) == 11
    deleted = [i for i in items if "deleted" in i]
    assert {i["name"] for i in deleted} == {
        "IMG_0003.jpg",
        "IMG_0007.heic",
        "IMG_0012.jpg",
        "VID_0002.mp4",
        "2025 Trip",
        "Tax return 2023.pdf",
    }
    for tombstone in deleted:
        assert tombstone["deleted"] == {"state": "deleted"}
        assert "size" not in tombstone and "cTag" not in tombstone  # consumer delta omits them
        assert tombstone["parentReference"]["id"]
    trip = next(i for i in deleted if i["name"] == "2025 Trip")
    assert "folder" in trip
    assert not {"Beach.jpg", "Harbour.jpg"} & {i["name"] for i in items}  # not one by one
    live = [i for i in items if "deleted" not in i]
    assert {i["name"] for i in live} == {
        "root",
        "Pictures",
        "Camera Roll",
        "Documents",
        "IMG_0003.jpg",
    }
    new = next(i for i in live if i["name"] == "IMG_0003.jpg")
    old = next(i for i in deleted if i["name"] == "IMG_0003.jpg")
    assert new["id"] != old["id"]

    only_changed = erin.get(link, headers={"deltaExcludeParent": "true"}).json()["value"]
    assert len(only_changed) == 7
    assert erin.get(next_link).json()["value"] == []


def test_delta_select_without_deleted_strips_the_facet(erin: Graph, fake: OneDriveFake) -> None:
    link = _enrol(erin)
    fake.between_scans()
    page = erin.get(link, params={"$select": "id,name,file"}).json()
    assert page["value"] and all(set(i) <= {"id", "name", "file"} for i in page["value"])
    assert all("deleted" not in i for i in page["value"])
    assert (
        "%24select=id%2Cname%2Cfile" in page["@odata.deltaLink"]
        or "$select=id,name,file" in (page["@odata.deltaLink"])
    )
    with_deleted = erin.get(link, params={"$select": "id,deleted"}).json()["value"]
    assert sum("deleted" in i for i in with_deleted) == 6


def test_token_latest_then_changes(erin: Graph, fake: OneDriveFake) -> None:
    latest = erin.get(DELTA, params={"token": "latest"}).json()
    assert latest["value"] == [] and "@odata.deltaLink" in latest
    fake.add_file("erin", "/Pictures/Camera Roll/IMG_5000.jpg")
    changes = erin.get(latest["@odata.deltaLink"]).json()["value"]
    assert [i["name"] for i in changes] == ["root", "Pictures", "Camera Roll", "IMG_5000.jpg"]
    by_function = erin.get(DELTA + "(token='latest')").json()
    assert by_function["value"] == []


def test_stale_delta_token_is_410_resync(erin: Graph, fake: OneDriveFake) -> None:
    first = erin.get(DELTA, params={"$top": 5}).json()
    link = _enrol(erin)
    fake.expire_delta_tokens("erin")
    for stale in (link, first["@odata.nextLink"], erin.url(DELTA + "?token=garbage")):
        response = erin.get(stale)
        assert response.status_code == 410
        error = response.json()["error"]
        assert error["code"] == "resyncRequired"
        assert error["innerError"]["code"] == "resyncChangesApplyDifferences"
        assert response.headers["Location"].startswith(erin.base + DELTA)
    restart = erin.get(link).headers["Location"]
    items, _, _ = erin.delta_all(restart)
    assert len(items) == 41
    timestamp = erin.get(DELTA, params={"token": "2024-01-01T00:00:00Z"})
    assert timestamp.status_code == 410  # timestamps are for OneDrive for Business only


def test_include_deleted_items_by_id(erin: Graph, fake: OneDriveFake) -> None:
    photo = fake.find("erin", "/Pictures/Camera Roll/IMG_0007.heic")
    fake.between_scans()
    path = f"/v1.0/me/drive/items/{photo.id}"
    assert erin.get(path).status_code == 404
    deleted = erin.get(path, params={"includeDeletedItems": "true"}).json()
    assert deleted["deleted"] == {"state": "deleted"} and deleted["name"] == "IMG_0007.heic"
    by_path = erin.get(
        "/v1.0/me/drive/root:/Pictures/Camera Roll/IMG_0007.heic",
        params={"includeDeletedItems": "true"},
    )
    assert by_path.status_code == 404  # only valid when addressed by id
    purged = fake.manifest["erin"].ids["/Documents/Old notes.txt"]
    gone = erin.get(f"/v1.0/me/drive/items/{purged}", params={"includeDeletedItems": "true"})
    assert gone.status_code == 404


def test_restore_personal(erin: Graph, fake: OneDriveFake) -> None:
    link = _enrol(erin)
    ids = fake.manifest["erin"].ids
    fake.between_scans()
    roll = "/Pictures/Camera Roll"

    free = erin.post(f"/v1.0/me/drive/items/{ids[roll + '/IMG_0007.heic']}/restore")
    assert free.status_code == 200
    restored = free.json()
    assert restored["name"] == "IMG_0007.heic" and "deleted" not in restored
    assert restored["parentReference"]["path"] == "/drive/root:" + roll

    taken_id = ids[roll + "/IMG_0003.jpg"]
    taken = erin.post(f"/v1.0/me/drive/items/{taken_id}/restore", json={})
    assert taken.status_code == 409
    assert taken.json()["error"]["code"] == "nameAlreadyExists"
    renamed = erin.post(
        f"/v1.0/me/drive/items/{taken_id}/restore", json={"name": "IMG_0003 (restored).jpg"}
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "IMG_0003 (restored).jpg"

    beach = ids["/Pictures/2025 Trip/Beach.jpg"]
    orphan = erin.post(f"/v1.0/me/drive/items/{beach}/restore")
    assert orphan.status_code == 409
    assert orphan.json()["error"]["innerError"]["code"] == "parentItemNotFound"
    pictures = fake.find("erin", "/Pictures").id
    moved = erin.post(
        f"/v1.0/me/drive/items/{beach}/restore", json={"parentReference": {"id": pictures}}
    )
    assert moved.status_code == 200
    assert moved.json()["parentReference"]["id"] == pictures
    trip = fake.find("erin", ids["/Pictures/2025 Trip/Harbour.jpg"]).parent_id
    folder = erin.post(f"/v1.0/me/drive/items/{trip}/restore")
    assert folder.status_code == 200 and folder.json()["folder"]["childCount"] == 3

    live = erin.post(f"/v1.0/me/drive/items/{ids[roll + '/IMG_0001.jpg']}/restore")
    assert live.status_code == 400
    purged = erin.post(f"/v1.0/me/drive/items/{ids['/Documents/Old notes.txt']}/restore")
    assert purged.status_code == 404 and purged.json()["error"]["code"] == "itemNotFound"
    unknown = erin.post("/v1.0/me/drive/items/NOPE!1/restore")
    assert unknown.status_code == 404

    statuses = [(r.ids[0], r.status) for r in fake.restore_seen]
    assert (taken_id, 409) in statuses and (taken_id, 200) in statuses
    assert fake.restore_seen[0].kind == "driveItem"

    changes, _, _ = erin.delta_all(link)
    names = {i["name"] for i in changes if "deleted" not in i}
    assert {
        "IMG_0007.heic",
        "IMG_0003 (restored).jpg",
        "Beach.jpg",
        "2025 Trip",
        "Harbour.jpg",
    } <= names


def test_restore_needs_files_readwrite_all(fake: OneDriveFake, http: requests.Session) -> None:
    fake.between_scans()
    item = fake.manifest["erin"].ids["/Pictures/Camera Roll/IMG_0012.jpg"]
    weak = Graph(fake, http, fake.access_token("erin", ["Files.ReadWrite"]))
    response = weak.post(f"/v1.0/me/drive/items/{item}/restore")
    assert response.status_code == 403 and response.json()["error"]["code"] == "accessDenied"
    no_files = Graph(fake, http, fake.access_token("erin", ["User.Read"]))
    assert no_files.get("/v1.0/me/drive").status_code == 403


def test_throttling_faults_have_graph_bodies(erin: Graph, fake: OneDriveFake) -> None:
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(fake.http_fault(429, 3), path="/delta")
    fake.server.faults.add(fake.http_fault(503, 7), path="/delta")
    throttled = erin.get(DELTA)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "3"
    assert throttled.json()["error"]["code"] == "activityLimitReached"
    assert throttled.json()["error"]["innerError"]["code"] == "throttledRequest"
    unavailable = erin.get(DELTA)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "7"
    assert unavailable.json()["error"]["code"] == "serviceNotAvailable"
    assert erin.get(DELTA).status_code == 200
    assert fake.server.faults.pending() == 0
    no_header = fake.http_fault(429, None)
    assert "Retry-After" not in no_header.headers


def test_destructive_calls_are_refused(erin: Graph, fake: OneDriveFake) -> None:
    photo = fake.find("erin", "/Pictures/Camera Roll/IMG_0001.jpg")
    calls = [
        ("DELETE", f"/v1.0/me/drive/items/{photo.id}"),
        ("POST", f"/v1.0/me/drive/items/{photo.id}/permanentDelete"),
        ("PUT", f"/v1.0/me/drive/items/{photo.id}/content"),
        ("PUT", "/v1.0/me/drive/root:/Pictures/new.jpg:/content"),
        ("PATCH", f"/v1.0/me/drive/items/{photo.id}"),
        ("POST", "/v1.0/me/drive/root/children"),
        ("POST", f"/v1.0/me/drive/items/{photo.id}/copy"),
    ]
    for method, path in calls:
        response = erin.request(method, path, json={"name": "x"})
        assert response.status_code == 403, (method, path)
        assert response.json()["error"]["code"] == "accessDenied"
    assert [(c.method, c.path) for c in fake.refused_calls] == calls
    assert fake.find("erin", photo.id).live
    unknown = erin.get("/v1.0/me/drive/items/root/permissions")
    assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "BadRequest"
    assert fake.unmodelled_calls[-1].path.endswith("/permissions")


def test_personal_accounts_have_no_site(erin: Graph, frank: Graph) -> None:
    response = erin.get("/beta/sites/contoso-my.sharepoint.com:/personal/erin_outlook_com")
    assert response.status_code == 400
    assert "SPO license" in response.json()["error"]["message"]
    other = erin.get(f"/v1.0/drives/{frank.get('/v1.0/me/drive').json()['id']}")
    assert other.status_code == 404  # another user's drive


def test_delete_random_for_benchmarks(erin: Graph, fake: OneDriveFake) -> None:
    fake.bulk_personal("erin", 1000)
    link = _enrol(erin)
    ids = fake.delete_random("erin", 100)
    assert len(set(ids)) == 100
    items, _, _ = erin.delta_all(
        link, headers={"deltaExcludeParent": "true"}, params={"$top": 1000}
    )
    assert {i["id"] for i in items if "deleted" in i} == set(ids)
