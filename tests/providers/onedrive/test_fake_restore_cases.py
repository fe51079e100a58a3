"""The OneDrive fake's restore cases of issue 12, hit over HTTPS as a client would.

Business (``frank``): the undocumented ``GET /sites/{id}/recycleBin/items/{id}`` refused with
400 by default (served only behind a knob); the beta bin restore's 200/207 answers for an id
that is no longer in the bin (two runs racing), whose original folder is gone, or whose name is
taken; the restored item readable at its original path and gone from the bin listing. Personal
(``erin``): a photo whose folder was deleted later, restored alone, after its folder, or
elsewhere; delta shows restores.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import requests

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

ROLL = "/Pictures/Camera Roll"


def _site_id(graph: Graph) -> str:
    drive = graph.get("/v1.0/me/drive", params={"$select": "id,sharePointIds"}).json()
    ids = drive["sharePointIds"]
    return f"{ids['siteUrl'].split('/')[2]},{ids['siteId']},{ids['webId']}"


def _bin(graph: Graph) -> dict[str, dict[str, Any]]:
    """The whole site recycle bin by entry id (the documented list call, followed to the end)."""
    entries: dict[str, dict[str, Any]] = {}
    url: str | None = f"/beta/sites/{_site_id(graph)}/recycleBin/items"
    while url:
        body = graph.get(url).json()
        entries.update({e["id"]: e for e in body["value"]})
        url = body.get("@odata.nextLink")
    return entries


def _restore_url(graph: Graph) -> str:
    return f"/beta/sites/{_site_id(graph)}/recycleBin/items/restore"


def _drive_id(graph: Graph) -> str:
    return graph.get("/v1.0/me/drive").json()["id"]


# -- business: the undocumented per-entry GET ------------------------------------------------------


def test_bin_item_get_is_refused_with_graphs_400_unless_the_knob_serves_it(
    frank: Graph, fake: OneDriveFake
) -> None:
    entry_id = next(iter(_bin(frank)))
    url = f"/beta/sites/{_site_id(frank)}/recycleBin/items/{entry_id}"
    refused = frank.get(url)  # the default: Microsoft documents only "list items"
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "BadRequest"
    assert error["message"] == f"Resource not found for the segment '{entry_id}'."
    assert {"date", "request-id", "client-request-id"} <= error["innerError"].keys()
    assert frank.get(url.replace("/beta/", "/v1.0/")).status_code == 400
    fake.graph.serve_bin_item_get = True  # a server that answers it anyway
    assert frank.get(url).json()["id"] == entry_id
    # every call of the undocumented route is recorded, served or not
    assert [c.path.rsplit("/", 1)[-1] for c in fake.undocumented_calls] == [entry_id] * 3
    # the documented calls still work: list, and restore
    assert entry_id in _bin(frank)
    assert frank.post(_restore_url(frank), json={"ids": [entry_id]}).status_code == 207


# -- business: restore outcomes ------------------------------------------------------------------


def test_bin_restore_all_restored_then_readable_at_the_original_path(
    frank: Graph, fake: OneDriveFake
) -> None:
    entries = {e["name"]: e["id"] for e in _bin(frank).values()}
    wanted = [entries["IMG_2001.jpg"], entries["VID_2001.mp4"]]
    fake.graph.site_restore_ok_status = 200  # the "all restored" status scripts report
    answer = frank.post(_restore_url(frank), json={"ids": wanted})
    assert answer.status_code == 200
    assert [e["id"] for e in answer.json()["value"]] == wanted
    left = _bin(frank)
    assert not set(wanted) & set(left)
    drive_id = _drive_id(frank)
    for name in ("IMG_2001.jpg", "VID_2001.mp4"):
        path = quote(f"{ROLL}/{name}")
        by_drive = frank.get(f"/v1.0/drives/{drive_id}/root:{path}")
        assert by_drive.status_code == 200 and by_drive.json()["name"] == name
        assert frank.get(f"/v1.0/me/drive/root:{path}").json()["id"] == by_drive.json()["id"]
    (record,) = fake.restore_seen
    assert record.status == 200 and record.not_restored == ()


def test_bin_restore_207_lists_only_what_was_restored_and_records_why(
    frank: Graph, fake: OneDriveFake
) -> None:
    entries = {e["name"]: e["id"] for e in _bin(frank).values()}
    # name taken at the original place: a new file now lives at IMG_2002.heic
    fake.add_file("frank", f"{ROLL}/IMG_2002.heic")
    # original folder gone: a photo deleted on its own, then its folder deleted and purged
    fake.add_file("frank", "/Pictures/Party/cake.jpg")
    fake.add_file("frank", "/Pictures/Party/candles.jpg")
    now = fake.clock()
    cake = fake.delete("frank", "/Pictures/Party/cake.jpg", at=now - timedelta(minutes=2))
    party = fake.delete("frank", "/Pictures/Party", at=now - timedelta(minutes=1))
    assert cake is not None and party is not None
    fake.purge_bin_entry("frank", party.id)
    ids = [entries["IMG_2003.jpg"], entries["IMG_2002.heic"], cake.id, "no-such-id"]

    answer = frank.post(_restore_url(frank), json={"ids": ids})

    assert answer.status_code == 207
    assert [e["id"] for e in answer.json()["value"]] == [entries["IMG_2003.jpg"]]
    assert answer.json()["value"][0]["name"] == "IMG_2003.jpg"  # a recycleBinItem
    left = _bin(frank)
    assert entries["IMG_2002.heic"] in left and cake.id in left
    assert party.id not in left and entries["IMG_2003.jpg"] not in left
    # conservative on a taken name: nothing renamed, the newer file untouched
    taken = frank.get(f"/v1.0/me/drive/root:{quote(ROLL + '/IMG_2002.heic')}").json()
    assert taken["id"] == fake.find("frank", f"{ROLL}/IMG_2002.heic").id
    assert frank.get("/v1.0/me/drive/root:/Pictures/Party").status_code == 404
    (record,) = fake.restore_seen
    assert dict(record.not_restored) == {
        entries["IMG_2002.heic"]: "name_taken",
        cake.id: "parent_missing",
        "no-such-id": "not_in_bin",
    }


def test_bin_restore_of_an_already_restored_id_answers_207_empty(
    frank: Graph, fake: OneDriveFake
) -> None:
    entry = next(e for e in _bin(frank).values() if e["name"] == "IMG_2003.jpg")
    url = _restore_url(frank)
    assert frank.post(url, json={"ids": [entry["id"]]}).status_code == 207
    again = frank.post(url, json={"ids": [entry["id"]]})
    assert again.status_code == 207 and again.json()["value"] == []
    path = f"/v1.0/me/drive/root:{quote(ROLL + '/IMG_2003.jpg')}"
    assert frank.get(path).status_code == 200  # present at its place: already restored
    assert fake.restore_seen[-1].not_restored == ((entry["id"], "not_in_bin"),)


def test_two_runs_racing_restore_each_id_once(
    fake: OneDriveFake, http: requests.Session, frank: Graph
) -> None:
    entries = [e["id"] for e in _bin(frank).values() if e["name"].endswith((".jpg", ".mov"))]
    url = _restore_url(frank)
    barrier = threading.Barrier(2)
    answers: list[requests.Response] = []

    def run() -> None:
        # each run its own session: requests.Session is not shared across threads
        with requests.Session() as session:
            session.verify, session.trust_env = http.verify, False
            barrier.wait()
            answers.append(
                session.post(
                    frank.url(url),
                    json={"ids": entries},
                    headers={"Authorization": f"Bearer {frank.token}"},
                )
            )

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    restored = [e["id"] for a in answers for e in a.json()["value"]]
    assert sorted(restored) == sorted(entries)  # every id restored by exactly one run
    assert {a.status_code for a in answers} <= {200, 207}
    assert not set(entries) & set(_bin(frank))


def test_bin_restore_can_recreate_the_missing_folder_when_asked(
    frank: Graph, fake: OneDriveFake
) -> None:
    fake.add_file("frank", "/Pictures/Party/cake.jpg")
    fake.add_file("frank", "/Pictures/Party/candles.jpg")
    now = fake.clock()
    cake = fake.delete("frank", "/Pictures/Party/cake.jpg", at=now - timedelta(minutes=2))
    party = fake.delete("frank", "/Pictures/Party", at=now - timedelta(minutes=1))
    assert cake is not None and party is not None
    fake.graph.bin_restore_recreates_folders = True
    answer = frank.post(_restore_url(frank), json={"ids": [cake.id]})
    assert answer.status_code == 207 and [e["id"] for e in answer.json()["value"]] == [cake.id]
    folder = frank.get("/v1.0/me/drive/root:/Pictures/Party:/children").json()["value"]
    assert [c["name"] for c in folder] == ["cake.jpg"]  # a new, otherwise empty folder
    assert party.id in _bin(frank)  # the deleted folder (with candles.jpg) is still in the bin
    blocked = frank.post(_restore_url(frank), json={"ids": [party.id]})
    assert blocked.json()["value"] == []  # its name is now taken by the recreated folder
    assert fake.restore_seen[-1].not_restored == ((party.id, "name_taken"),)


# -- personal: a photo whose folder was deleted later ---------------------------------------------


def test_personal_photo_whose_folder_was_deleted_later(erin: Graph, fake: OneDriveFake) -> None:
    _, link, _ = erin.delta_all()  # enrolment
    grandma = fake.add_file("erin", "/Pictures/Wedding/grandma.jpg")
    video = fake.add_file("erin", "/Pictures/Wedding/wedding.mp4")
    _, link, _ = erin.delta_all(link)
    now = fake.clock()
    fake.delete("erin", grandma.id, at=now - timedelta(minutes=2))
    folder = fake.delete("erin", "/Pictures/Wedding", at=now - timedelta(minutes=1))
    assert folder is None  # personal drives have no listable bin
    wedding = fake.find("erin", grandma.id).parent_id
    assert wedding is not None
    changes, link, _ = erin.delta_all(link, headers={"deltaExcludeParent": "true"})
    assert {c["id"] for c in changes if "deleted" in c} == {grandma.id, wedding}

    # restoring the photo alone: its parent is in the recycle bin, not live -> a Graph error
    alone = erin.post(f"/v1.0/me/drive/items/{quote(grandma.id)}/restore")
    assert alone.status_code == 409
    assert alone.json()["error"]["code"] == "invalidRequest"
    assert alone.json()["error"]["innerError"]["code"] == "parentItemNotFound"
    into_deleted = erin.post(
        f"/v1.0/me/drive/items/{quote(grandma.id)}/restore",
        json={"parentReference": {"id": wedding}},
    )
    assert into_deleted.status_code == 409  # the folder named is itself in the bin
    assert erin.get("/v1.0/me/drive/root:/grandma.jpg").status_code == 404  # never to the root

    # the folder first (it brings back what was deleted with it, not the photo), then the photo
    back = erin.post(f"/v1.0/me/drive/items/{quote(wedding)}/restore")
    assert back.status_code == 200 and back.json()["folder"]["childCount"] == 1
    photo = erin.post(f"/v1.0/me/drive/items/{quote(grandma.id)}/restore")
    assert photo.status_code == 200
    assert photo.json()["parentReference"]["path"] == "/drive/root:/Pictures/Wedding"
    assert erin.get("/v1.0/me/drive/root:/Pictures/Wedding/grandma.jpg").status_code == 200

    changes, _, _ = erin.delta_all(link, headers={"deltaExcludeParent": "true"})
    restored = {c["id"] for c in changes if "deleted" not in c}
    assert {grandma.id, video.id, wedding} <= restored
    statuses = [(r.ids[0], r.status) for r in fake.restore_seen]
    assert statuses == [(grandma.id, 409), (grandma.id, 409), (wedding, 200), (grandma.id, 200)]


def test_personal_photo_restored_into_an_existing_folder(erin: Graph, fake: OneDriveFake) -> None:
    grandma = fake.add_file("erin", "/Pictures/Wedding/grandma.jpg")
    fake.delete("erin", grandma.id)
    fake.delete("erin", "/Pictures/Wedding")
    pictures = fake.find("erin", "/Pictures").id
    moved = erin.post(
        f"/v1.0/me/drive/items/{quote(grandma.id)}/restore",
        json={"parentReference": {"id": pictures}},
    )
    assert moved.status_code == 200
    assert moved.json()["parentReference"]["path"] == "/drive/root:/Pictures"
    assert erin.get("/v1.0/me/drive/root:/Pictures/grandma.jpg").json()["id"] == grandma.id
    assert erin.get("/v1.0/me/drive/root:/Pictures/Wedding").status_code == 404  # still binned
