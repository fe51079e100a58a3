"""The sandbox fake of this provider: see :mod:`trashscan_onedrive.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_onedrive.sandbox.fake import OneDriveFake

__all__ = ["OneDriveFake"]
