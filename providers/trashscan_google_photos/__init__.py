"""Google Photos: registered so that it can say honestly what its public API does not allow."""
