"""Dropbox as a trashscan provider: deleted files with deletion times, plan-aware purge dates."""
