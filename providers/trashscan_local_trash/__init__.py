"""The freedesktop.org Trash specification as a trashscan provider (the reference plugin)."""
