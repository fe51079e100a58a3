"""The sandbox fake of this provider: see :mod:`trashscan_google_photos.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_google_photos.sandbox.fake import GooglePhotosFake

__all__ = ["GooglePhotosFake"]
