"""Google Drive as a trashscan provider: trashed photos and videos with their purge dates."""
