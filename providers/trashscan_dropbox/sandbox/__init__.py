"""The sandbox fake of this provider: see :mod:`trashscan_dropbox.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_dropbox.sandbox.fake import DropboxFake

__all__ = ["DropboxFake"]
