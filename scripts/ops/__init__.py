"""Day-2 tools for a deployed stack (or the local twin): redrive, backfill, and their demo."""
