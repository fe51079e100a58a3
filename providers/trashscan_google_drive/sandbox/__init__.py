"""The sandbox fake of this provider: see :mod:`trashscan_google_drive.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_google_drive.sandbox.fake import GoogleDriveFake

__all__ = ["GoogleDriveFake"]
