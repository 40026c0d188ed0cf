"""The report archive: folders published atomically, history kept, the index page."""
