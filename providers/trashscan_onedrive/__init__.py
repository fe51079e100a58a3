"""OneDrive (personal and business) as a trashscan provider."""
