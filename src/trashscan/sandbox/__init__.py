"""Local fake provider servers that real SDK clients talk to over loopback."""
