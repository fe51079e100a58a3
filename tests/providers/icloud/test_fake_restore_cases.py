"""The iCloud fake's issue-12 knob, through the real ``pyicloud`` client over HTTPS: iCloud
Drive's Recently Deleted listing throttled or failing on its own while Photos (CloudKit) and the
rest of iCloud Drive keep answering."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pyicloud import PyiCloudService
from pyicloud.exceptions import PyiCloudAPIResponseException

from trashscan_icloud.sandbox.fake import ICloudFake

from . import test_fake as base

# The fixtures and helpers of the fake's main test module, bound here so pytest finds them.
fake, login, now = base.fake, base.login, base.now
recently_deleted = base.recently_deleted
TRASH_NAMES = {"IMG_0420.JPG", "IMG_0533.HEIC", "beach.mov", "Tax return 2023.pdf"}


def test_drive_trash_throttled_while_photos_and_drive_folders_work(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    fake.fail_drive_trash(429, retry_after=30, times=2)
    for _ in range(2):
        with pytest.raises(PyiCloudAPIResponseException) as throttled:
            api.drive.trash.get_children()
        assert throttled.value.code == 429
        assert throttled.value.response is not None
        assert throttled.value.response.headers["Retry-After"] == "30"
        assert throttled.value.response.json()["errorCode"] == 429
    assert len(list(recently_deleted(api))) == 25  # Photos unaffected
    assert api.drive.root.get_children()  # other Drive listings unaffected
    assert {n.name for n in api.drive.trash.get_children()} == TRASH_NAMES  # times ran out
    assert fake.drive_trash_faults == 0


def test_drive_trash_failing_until_cleared(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    fake.fail_drive_trash(503, retry_after=None, times=None)
    for _ in range(3):
        with pytest.raises(PyiCloudAPIResponseException) as failing:
            api.drive.trash.get_children()
        assert failing.value.code == 503
        assert failing.value.response is not None
        assert "Retry-After" not in failing.value.response.headers
    assert len(list(recently_deleted(api))) == 25
    assert fake.drive_trash_faults is None  # still armed: fails every time
    fake.fail_drive_trash(times=0)
    assert {n.name for n in api.drive.trash.get_children()} == TRASH_NAMES
