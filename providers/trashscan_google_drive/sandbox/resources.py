"""Rendering the model as Drive v3 resources (``drive#file``, ``drive#drive``, ``drive#user``).

Each function returns the *full* resource as the caller may see it; handlers then cut it down
with the ``fields`` selection. Which fields exist, and when they are absent, follows the File and
Drive schemas of the discovery document [DISC]:

* ``size`` "Won't be populated for files that have no size, like shortcuts and folders";
* ``md5Checksum``, ``sha256Checksum``, ``fileExtension``, ``fullFileExtension``,
  ``originalFilename``, ``headRevisionId`` exist only for files with binary content;
* ``trashedTime`` and ``trashingUser``: "Only populated for items in shared drives", and
  ``trashingUser`` only "If the file has been explicitly trashed";
* ``ownedByMe``, ``owners``, ``shared``: "Not populated for items in shared drives";
* ``driveId``: "Only populated for items in shared drives";
* ``parents``: "A file can only have one parent folder".
"""

from __future__ import annotations

from typing import Any

from trashscan_google_drive.sandbox.model import (
    EDIT_ROLES,
    UNTRASH_ROLES,
    DriveFile,
    DriveState,
    Person,
    SharedDrive,
    rfc3339,
)

__all__ = ["capabilities", "render_drive", "render_file", "render_user"]

# [DISC files.list] "If you omit the fields parameter, the server returns a default set of
# fields": kind, id, name, mimeType and resourceKey for each file [DOC guides/search-files].
DEFAULT_FILE_FIELDS = ("kind", "id", "name", "mimeType", "resourceKey")
DEFAULT_DRIVE_FIELDS = ("kind", "id", "name")


def render_user(person: Person, viewer: str) -> dict[str, Any]:
    return {
        "kind": "drive#user",
        "displayName": person.display_name,
        "emailAddress": person.email,
        "permissionId": person.permission_id,
        "me": person.email == viewer,
    }


def capabilities(state: DriveState, item: DriveFile, viewer: str) -> dict[str, bool]:
    """What ``viewer`` may do with ``item``: owners and organizers/fileOrganizers can trash and
    untrash ("must own the file or be at least a fileOrganizer on the parent for shared drive
    files" [DOC v2 files.untrash]); writers edit; readers only read."""
    role = state.role(item, viewer)
    owner_like = role == "owner" or role in UNTRASH_ROLES
    can_edit = role == "owner" or role in EDIT_ROLES
    caps = {
        "canTrash": owner_like and not item.is_root,
        "canUntrash": owner_like and not item.is_root and not item.untrash_denied,
        "canDelete": (role in {"owner", "organizer"}) and not item.is_root,
        "canEdit": can_edit,
        "canRename": can_edit and not item.is_root,
        "canDownload": role is not None,
        "canCopy": role is not None and not item.is_folder,
        "canComment": role is not None and role != "reader",
        "canShare": can_edit,
        "canListChildren": item.is_folder,
        "canAddChildren": item.is_folder and can_edit,
        "canReadRevisions": can_edit,
        "canModifyContent": can_edit,
        "canRemoveChildren": item.is_folder and can_edit,
    }
    if item.drive_id is not None:
        caps["canReadDrive"] = role is not None
        caps["canDeleteChildren"] = item.is_folder and role == "organizer"
        caps["canTrashChildren"] = item.is_folder and owner_like
    return caps


def render_file(
    state: DriveState, item: DriveFile, viewer: str, thumbnail_link: str | None
) -> dict[str, Any]:
    """The full ``drive#file`` resource of ``item`` as ``viewer`` sees it; ``thumbnail_link``
    is None when the caller's token cannot read content (see :mod:`.thumbnails`)."""
    origin = state.trash_origin(item)
    out: dict[str, Any] = {
        "kind": "drive#file",
        "id": item.id,
        "name": item.name,
        "mimeType": item.mime_type,
        "starred": False,
        "trashed": origin is not None,
        "explicitlyTrashed": item.explicitly_trashed,
        "spaces": ["drive"],
        "version": str(item.version),
        "webViewLink": f"https://drive.google.com/file/d/{item.id}/view?usp=drivesdk",
        "iconLink": f"https://drive-thirdparty.googleusercontent.com/16/type/{item.mime_type}",
        "viewedByMe": item.created_by == viewer,
        "createdTime": rfc3339(item.created_time),
        "modifiedTime": rfc3339(item.modified_time),
        "modifiedByMe": item.created_by == viewer,
        "capabilities": capabilities(state, item, viewer),
        "hasThumbnail": item.image is not None or item.video is not None,
        "isAppAuthorized": False,
        "copyRequiresWriterPermission": False,
        "writersCanShare": True,
    }
    if item.is_folder:
        out["webViewLink"] = f"https://drive.google.com/drive/folders/{item.id}"
    if item.parent_id is not None:
        out["parents"] = [item.parent_id]
    creator = state.people.get(item.created_by)
    if creator is not None:
        out["lastModifyingUser"] = render_user(creator, viewer)
    if item.drive_id is None:
        owner = state.people.get(item.owner or "")
        out["ownedByMe"] = item.owner == viewer
        out["shared"] = False
        if owner is not None:
            out["owners"] = [render_user(owner, viewer)]
    else:
        out["driveId"] = item.drive_id
        out["teamDriveId"] = item.drive_id  # deprecated twin still sent by Drive
        out.pop("writersCanShare")  # "Not populated for items in shared drives" [DISC]
        if origin is not None and origin.trashed_time is not None:
            out["trashedTime"] = rfc3339(origin.trashed_time)
        if item.explicitly_trashed and item.trashing_user:
            trasher = state.people.get(item.trashing_user)
            if trasher is not None:
                out["trashingUser"] = render_user(trasher, viewer)
    if item.size is not None:
        out["size"] = str(item.size)
        out["quotaBytesUsed"] = str(item.size) if item.drive_id is None else "0"
    if item.has_binary_content and not item.is_folder:
        extension = item.name.rsplit(".", 1)[1] if "." in item.name else ""
        out["originalFilename"] = item.name
        out["fullFileExtension"] = extension
        out["fileExtension"] = extension
        out["headRevisionId"] = f"0B{item.id[1:20]}Rev"
        out["webContentLink"] = f"https://drive.google.com/uc?id={item.id}&export=download"
        if item.md5 is not None:
            out["md5Checksum"] = item.md5
        if item.sha256 is not None:
            out["sha256Checksum"] = item.sha256
        if item.sha1 is not None:
            out["sha1Checksum"] = item.sha1
    if out["hasThumbnail"]:
        out["thumbnailVersion"] = "1"  # the content never changes in the fake
        if thumbnail_link is not None:
            out["thumbnailLink"] = thumbnail_link
    if item.image is not None:
        out["imageMediaMetadata"] = dict(item.image)
    if item.video is not None:
        out["videoMediaMetadata"] = dict(item.video)
    return out


def render_drive(drive: SharedDrive, viewer: str) -> dict[str, Any]:
    role = drive.members.get(viewer)
    manager = role == "organizer"
    return {
        "kind": "drive#drive",
        "id": drive.id,
        "name": drive.name,
        "colorRgb": drive.color_rgb,
        "createdTime": rfc3339(drive.created_time),
        "hidden": False,
        "capabilities": {
            "canAddChildren": role in EDIT_ROLES,
            "canComment": role not in {None, "reader"},
            "canCopy": role is not None,
            "canDeleteDrive": manager,
            "canDownload": role is not None,
            "canEdit": role in EDIT_ROLES,
            "canListChildren": role is not None,
            "canManageMembers": manager,
            "canReadRevisions": role in EDIT_ROLES,
            "canRename": manager,
            "canRenameDrive": manager,
            "canShare": manager,
            "canDeleteChildren": manager,
            "canTrashChildren": role in UNTRASH_ROLES,
        },
        "restrictions": {
            "adminManagedRestrictions": False,
            "copyRequiresWriterPermission": False,
            "domainUsersOnly": False,
            "driveMembersOnly": False,
            "sharingFoldersRequiresOrganizerPermission": False,
        },
    }
