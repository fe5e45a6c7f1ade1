"""Instance-type catalogs: shipped snapshots, user overrides, and pure queries."""
