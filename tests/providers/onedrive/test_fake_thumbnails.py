"""The OneDrive fake serves thumbnails as Graph documents them, to a plain HTTP client.

[DOC driveitem-list-thumbnails.md]: ``/items/{id}/thumbnails`` lists thumbnailSets (small,
medium, large; ``$select`` for others, custom ``c{W}x{H}[_crop]`` too), ``.../{size}/content``
redirects to the thumbnail, ``$expand=thumbnails`` works while listing (delta too, on OneDrive
Personal), and the URLs are pre-authenticated. A deleted item has no thumbnail anywhere
(next-wave.md §1), so they must be captured while the photo is alive. Pictures are decoded
with Pillow; quickXorHash is checked against published test vectors.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta
from typing import Any

import pytest
import requests

from trashscan.testing import decoded_picture as picture
from trashscan_onedrive.sandbox.fake import OneDriveFake
from trashscan_onedrive.sandbox.model import quick_xor_hash

from . import test_fake_support as support
from .test_fake_support import Graph

erin, fake, frank, http, seeded, tables = (
    support.erin,
    support.fake,
    support.frank,
    support.http,
    support.seeded,
    support.tables,
)

MEDIA = (".jpg", ".heic", ".png", ".mp4", ".mov")


def _fetch_anonymously(http: requests.Session, url: str) -> requests.Response:
    """How an ``<img>`` or a cache would fetch a thumbnail URL: no Authorization header."""
    return http.get(url)


def _photo(erin: Graph, name: str = "IMG_0001.jpg") -> dict[str, Any]:
    response = erin.get(f"/v1.0/me/drive/root:/Pictures/Camera Roll/{name}")
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_delta_expands_thumbnails_of_every_live_photo_and_video(
    fake: OneDriveFake, erin: Graph, http: requests.Session
) -> None:
    fake.graph.page_size = 10  # several pages: nextLinks must keep $expand
    items, _, pages = erin.delta_all("/v1.0/me/drive/root/delta?$expand=thumbnails($select=medium)")
    assert pages > 2
    media = [i for i in items if "file" in i and i["name"].lower().endswith(MEDIA)]
    assert len(media) >= 28
    for item in media:
        (thumbs,) = item["thumbnails"]
        assert set(thumbs) == {"id", "medium"}
        medium = thumbs["medium"]
        response = _fetch_anonymously(http, medium["url"])
        assert response.status_code == 200 and response.headers["Content-Type"] == "image/jpeg"
        assert picture(response.content).size == (medium["width"], medium["height"]) == (176, 132)
    documents = [i for i in items if "file" in i and i["name"].endswith((".pdf", ".docx"))]
    assert documents and all(d["thumbnails"] == [] for d in documents)


def test_thumbnail_sets_sizes_and_content_redirect(erin: Graph, http: requests.Session) -> None:
    photo = _photo(erin)
    base = f"/v1.0/me/drive/items/{photo['id']}/thumbnails"
    (thumbs,) = erin.get(base).json()["value"]
    assert thumbs["id"] == "0" and set(thumbs) == {"id", "small", "medium", "large"}
    sizes = {
        name: (thumbs[name]["width"], thumbs[name]["height"]) for name in thumbs if name != "id"
    }
    assert sizes == {"small": (96, 72), "medium": (176, 132), "large": (320, 240)}  # not enlarged
    custom = erin.get(f"{base}?select=c300x400_crop,smallSquare").json()["value"][0]
    assert (custom["c300x400_crop"]["width"], custom["c300x400_crop"]["height"]) == (180, 240)
    assert (custom["smallSquare"]["width"], custom["smallSquare"]["height"]) == (96, 96)
    single = erin.get(f"{base}/0/mediumSquare").json()
    assert (single["width"], single["height"]) == (176, 176)
    redirect = erin.get(f"{base}/0/small/content", allow_redirects=False)
    assert redirect.status_code == 302
    followed = _fetch_anonymously(http, redirect.headers["Location"])
    assert picture(followed.content).size == (96, 72)
    assert erin.get(f"{base}/0/small/content").status_code == 200  # a client following it
    assert erin.get(f"{base}/1/small").status_code == 404


def test_seeded_hashes_are_of_the_pictures_bytes(fake: OneDriveFake, erin: Graph) -> None:
    photo = _photo(erin)
    content = fake.find("erin", photo["id"]).content
    assert content is not None and photo["size"] == len(content)
    assert picture(content).format == "JPEG"
    hashes = photo["file"]["hashes"]
    assert hashes["sha1Hash"] == hashlib.sha1(content, usedforsecurity=False).hexdigest().upper()
    assert hashes["quickXorHash"] == quick_xor_hash(content)


@pytest.mark.parametrize(
    ("data", "expected"),
    [  # test vectors published with rclone's quickxorhash implementation
        ("", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="),
        ("Sg==", "SgAAAAAAAAAAAAAAAQAAAAAAAAA="),
        ("2fuxhBJXtpWFe8dOfdGeHw==", "O9tHLAghgSvYohKFyMMxnNCHaHg="),
        (
            "PfxMcUd0vIW6VbHG/uj/Y0W6qEoKmyBD0nYebEKazKaKG+UaDqBEcmQjbfQeVnVLuodMoPp7P7TR"
            "1htX5n2VnkHh22xDyoJ8C/ZQKiSNqQfXvh83judf4RVr9exJCud8Uvgip6aVZTaPrJHVjQhMCp/d"
            "EnGvqg0oN5OVkM2qqAXvA0teKUDhgNM71sDBVBCGXxNOR2bpbD1iM4dnuT0ey4L+loXEHTL0fqMe"
            "UcEi2asgImnlNakwenDzz0x57aBwyq3AspCFGB1ncX4yYCr/OaCcS5OKi/00WH+wNQU3",
            "QX/YEpG0gDsmhEpCdWhsxDzsfVE=",
        ),
    ],
)
def test_quick_xor_hash_follows_the_documented_algorithm(data: str, expected: str) -> None:
    assert quick_xor_hash(base64.b64decode(data)) == expected


def test_deleted_items_have_no_thumbnails(
    fake: OneDriveFake, erin: Graph, http: requests.Session
) -> None:
    _, link, _ = erin.delta_all()
    photo = _photo(erin, "IMG_0002.jpg")
    captured = erin.get(f"/v1.0/me/drive/items/{photo['id']}/thumbnails").json()["value"][0]
    assert _fetch_anonymously(http, captured["medium"]["url"]).status_code == 200
    fake.delete("erin", photo["id"])
    assert _fetch_anonymously(http, captured["medium"]["url"]).status_code == 404
    for query in ("", "?includeDeletedItems=true"):
        gone = erin.get(f"/v1.0/me/drive/items/{photo['id']}/thumbnails{query}")
        assert gone.status_code == 404 and gone.json()["error"]["code"] == "itemNotFound"
    changes = erin.get(f"{link}&$expand=thumbnails").json()["value"]
    tombstone = next(c for c in changes if c["id"] == photo["id"])
    assert "deleted" in tombstone and "thumbnails" not in tombstone


def test_thumbnail_urls_expire(fake: OneDriveFake, erin: Graph, http: requests.Session) -> None:
    photo = _photo(erin)
    url = erin.get(f"/v1.0/me/drive/items/{photo['id']}/thumbnails").json()["value"][0]["small"]
    now = fake.clock()
    fake.clock = lambda: now + timedelta(hours=2)
    assert _fetch_anonymously(http, url["url"]).status_code == 403


def test_business_thumbnails_per_item_but_not_expanded_in_listings(
    fake: OneDriveFake, frank: Graph, http: requests.Session
) -> None:
    listing = frank.get("/v1.0/me/drive/root:/Pictures/Camera Roll:/children?$expand=thumbnails")
    photos = [i for i in listing.json()["value"] if i["name"].endswith(".jpg")]
    assert photos and all("thumbnails" not in p for p in photos)  # "will not work" on ODB
    items, _, _ = frank.delta_all("/v1.0/me/drive/root/delta?$expand=thumbnails")
    assert all("thumbnails" not in i for i in items)
    (thumbs,) = frank.get(f"/v1.0/me/drive/items/{photos[0]['id']}/thumbnails").json()["value"]
    assert picture(_fetch_anonymously(http, thumbs["large"]["url"]).content).size == (320, 240)
    assert "sha1Hash" not in photos[0]["file"]["hashes"]  # business: quickXorHash only
    content = fake.find("frank", photos[0]["id"]).content
    assert content is not None
    assert photos[0]["file"]["hashes"]["quickXorHash"] == quick_xor_hash(content)
