"""Date formats of the pages: ISO 8601 dates and times everywhere (settings.FORMAT_MODULE_PATH)."""
