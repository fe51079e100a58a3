"""iCloud Photos "Recently Deleted" and iCloud Drive trash as a trashscan provider."""
