"""The sandbox fake of this provider: see :mod:`trashscan_icloud.sandbox.fake`.

Registered in the ``trashscan.sandbox`` entry-point group; the plugin never imports it.
"""

from trashscan_icloud.sandbox.fake import ICloudFake

__all__ = ["ICloudFake"]
