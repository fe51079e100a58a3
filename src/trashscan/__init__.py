"""trashscan: find trashed photos and videos across clouds before they are purged."""

__version__ = "0.1.0"
