"""The sandbox fake of this provider: see :mod:`trashscan_local_trash.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_local_trash.sandbox.fake import LocalTrashFake

__all__ = ["LocalTrashFake"]
