"""The OneDrive fake's Graph surface for OneDrive for Business (``frank``): the drive and its
site, the site recycle bin (list, paging, restore 207/200, permission denial), and the
driveItem restore that work accounts do not support."""

from __future__ import annotations

import time
from datetime import timedelta

import requests

from trashscan_onedrive.sandbox.fake import OneDriveFake

from . import test_fake_support as support
from .test_fake_support import Graph

# The shared fixtures (see test_fake_support), bound here so pytest finds them.
fake, frank, http, seeded, tables = (
    support.fake,
    support.frank,
    support.http,
    support.seeded,
    support.tables,
)


def _site_id(frank: Graph) -> str:
    drive = frank.get("/v1.0/me/drive", params={"$select": "id,driveType,webUrl,sharePointIds"})
    ids = drive.json()["sharePointIds"]
    host = ids["siteUrl"].split("/")[2]
    return f"{host},{ids['siteId']},{ids['webId']}"


def _bin(frank: Graph, version: str = "beta", **params: str) -> list[dict]:
    items: list[dict] = []
    url = f"/{version}/sites/{_site_id(frank)}/recycleBin/items"
    first = True
    while url:
        response = frank.get(url, params=params if first else None)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["value"]
        url, first = body.get("@odata.nextLink"), False
    return items


def test_business_drive_and_site(frank: Graph, fake: OneDriveFake) -> None:
    drive = frank.get("/v1.0/me/drive").json()
    assert drive["driveType"] == "business" and drive["id"].startswith("b!")
    assert "sharePointIds" not in drive  # only with $select
    assert drive["owner"]["user"]["email"] == "frank@contoso.com"
    selected = frank.get("/v1.0/me/drive", params={"$select": "id,sharePointIds"}).json()
    ids = selected["sharePointIds"]
    assert ids["siteUrl"] == "https://contoso-my.sharepoint.com/personal/frank_contoso_com"
    assert {"siteId", "webId", "listId", "tenantId"} <= ids.keys()
    site_id = _site_id(frank)
    site = frank.get(f"/v1.0/sites/{site_id}").json()
    assert site["id"] == site_id and site["webUrl"] == ids["siteUrl"]
    by_path = frank.get("/v1.0/sites/contoso-my.sharepoint.com:/personal/frank_contoso_com")
    assert by_path.json()["id"] == site_id
    encoded = frank.get(f"/v1.0/sites/{site_id.replace(',', '%2C')}")
    assert encoded.status_code == 200
    photo = frank.get("/v1.0/me/drive/root:/Pictures/Camera Roll/IMG_1001.jpg").json()
    assert set(photo["file"]["hashes"]) == {"quickXorHash"}
    assert photo["parentReference"]["path"] == f"/drives/{drive['id']}/root:/Pictures/Camera Roll"
    same = frank.get(f"/v1.0/sites/{site_id}/drive/items/{photo['id']}").json()
    assert same["id"] == photo["id"]
    unknown = frank.get(
        "/v1.0/sites/contoso-my.sharepoint.com,00000000-0000-0000-0000-000000000000,x"
    )
    assert unknown.status_code == 404


def test_recycle_bin_lists_both_versions_and_pages(frank: Graph, fake: OneDriveFake) -> None:
    for version in ("beta", "v1.0"):
        entries = _bin(frank, version)
        assert len(entries) == 10
    entries = _bin(frank, "beta", **{"$top": "3"})
    assert len(entries) == len({e["id"] for e in entries}) == 10
    times = [e["deletedDateTime"] for e in entries]
    assert times == sorted(times, reverse=True)
    names = {e["name"] for e in entries}
    assert "Offsite" in names and "IMG_2005.jpg" in names  # folder entry; second stage
    assert "IMG_2000.jpg" not in names  # deleted 100 days ago: purged after 93
    photo = next(e for e in entries if e["name"] == "IMG_2001.jpg")
    assert photo["deletedFromLocation"] == "Documents/Pictures/Camera Roll"
    assert photo["title"] == "IMG_2001"
    assert photo["deletedBy"]["user"]["email"] == "frank@contoso.com"
    assert photo["size"] > 0 and len(photo["id"]) == 36
    folder = next(e for e in entries if e["name"] == "Offsite")
    assert folder["size"] == sum(
        fake.find("frank", fake.manifest["frank"].ids[p]).size
        for p in fake.manifest["frank"].bin_folder_photos
    )
    selected = _bin(frank, "beta", **{"$select": "id,name"})
    assert all(set(e) == {"id", "name"} for e in selected)
    fake.graph.list_second_stage = False
    assert len(_bin(frank)) == 9
    fake.graph.serve_bin_item_get = True  # the undocumented per-entry GET, served on request
    one = frank.get(f"/beta/sites/{_site_id(frank)}/recycleBin/items/{photo['id']}")
    assert one.json()["name"] == "IMG_2001.jpg"


def test_recycle_bin_restore_207_partial_and_200(frank: Graph, fake: OneDriveFake) -> None:
    entries = {e["name"]: e["id"] for e in _bin(frank)}
    url = f"/beta/sites/{_site_id(frank)}/recycleBin/items/restore"
    both = frank.post(url, json={"ids": [entries["IMG_2001.jpg"], entries["Offsite"]]})
    assert both.status_code == 207  # the documented status, even when all are restored
    assert [e["name"] for e in both.json()["value"]] == ["IMG_2001.jpg", "Offsite"]
    children = frank.get("/v1.0/me/drive/root:/Pictures/Offsite:/children").json()["value"]
    assert {c["name"] for c in children} == {"Team 1.jpg", "Team 2.jpg", "Team 3.jpg"}
    assert frank.get("/v1.0/me/drive/root:/Pictures/Camera Roll/IMG_2001.jpg").status_code == 200

    fake.add_file("frank", "/Pictures/Camera Roll/IMG_2002.heic")  # the name is taken again
    partial = frank.post(
        url, json={"ids": [entries["IMG_2003.jpg"], entries["IMG_2002.heic"], "no-such-id"]}
    )
    assert partial.status_code == 207
    assert [e["id"] for e in partial.json()["value"]] == [entries["IMG_2003.jpg"]]
    remaining = {e["name"] for e in _bin(frank)}
    assert "IMG_2002.heic" in remaining and "IMG_2003.jpg" not in remaining

    fake.graph.site_restore_ok_status = 200
    ok = frank.post(url, json={"ids": [entries["VID_2001.mp4"]]})
    assert ok.status_code == 200 and len(ok.json()["value"]) == 1
    again = frank.post(url, json={"ids": [entries["VID_2001.mp4"]]})
    assert again.status_code == 207 and again.json()["value"] == []
    kinds = [(r.kind, r.status, len(r.restored)) for r in fake.restore_seen]
    assert kinds == [
        ("recycleBin", 207, 2),
        ("recycleBin", 207, 1),
        ("recycleBin", 200, 1),
        ("recycleBin", 207, 0),
    ]


def test_recycle_bin_restore_errors(frank: Graph, fake: OneDriveFake) -> None:
    entries = [e["id"] for e in _bin(frank)]
    site = _site_id(frank)
    v1 = frank.post(f"/v1.0/sites/{site}/recycleBin/items/restore", json={"ids": entries[:1]})
    assert v1.status_code == 400
    assert v1.json()["error"]["message"] == "Resource not found for the segment 'restore'."
    url = f"/beta/sites/{site}/recycleBin/items/restore"
    assert frank.post(url, json={}).status_code == 400
    too_many = frank.post(url, json={"ids": [f"id-{i}" for i in range(21)]})
    assert too_many.status_code == 400
    fake.deny_restore("frank")
    denied = frank.post(url, json={"ids": entries[:1]})
    assert denied.status_code == 403
    assert denied.json()["error"]["code"] == "accessDenied"
    assert "Sites.ReadWrite.All" in denied.json()["error"]["message"]
    fake.allow_restore("frank")
    assert frank.post(url, json={"ids": entries[:1]}).status_code == 207
    purge = frank.post(f"/beta/sites/{site}/recycleBin/items/delete", json={"ids": entries[1:2]})
    assert purge.status_code == 403
    assert fake.refused_calls[-1].path.endswith("/recycleBin/items/delete")
    assert len(_bin(frank)) == 9


def test_recycle_bin_restore_needs_write_scope(fake: OneDriveFake, http: requests.Session) -> None:
    reader = Graph(fake, http, fake.access_token("frank", ["Files.Read.All"]))
    entries = _bin(reader)
    response = reader.post(
        f"/beta/sites/{_site_id(reader)}/recycleBin/items/restore", json={"ids": [entries[0]["id"]]}
    )
    assert response.status_code == 403


def test_driveitem_restore_is_not_supported_for_business(frank: Graph, fake: OneDriveFake) -> None:
    deleted = fake.manifest["frank"].ids["/Pictures/Camera Roll/IMG_2001.jpg"]
    response = frank.post(f"/v1.0/me/drive/items/{deleted}/restore")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "notSupported"


def test_business_delta_tombstones_and_timestamp_token(frank: Graph, fake: OneDriveFake) -> None:
    _, link, _ = frank.delta_all()
    before = fake.clock() - timedelta(seconds=1)
    fake.delete("frank", "/Pictures/Camera Roll/IMG_1001.jpg")
    changes = frank.get(link, headers={"deltaExcludeParent": "true"}).json()["value"]
    (tombstone,) = changes
    assert tombstone["deleted"] == {"state": "deleted"}
    assert "name" not in tombstone and tombstone["size"] == 0 and "cTag" not in tombstone
    stamp = before.strftime("%Y-%m-%dT%H:%M:%SZ")
    since = frank.get("/v1.0/me/drive/root/delta", params={"token": stamp}).json()["value"]
    assert tombstone["id"] in {i["id"] for i in since}
    entries = {e["name"] for e in _bin(frank)}
    assert "IMG_1001.jpg" in entries


def test_bulk_recycle_bin_lists_quickly(frank: Graph, fake: OneDriveFake) -> None:
    started = time.monotonic()
    ids = fake.bulk_recycle_bin("frank", 5000)
    assert time.monotonic() - started < 10
    assert len(set(ids)) == 5000
    entries = _bin(frank, "beta", **{"$top": "1000"})
    assert len(entries) == 5010
