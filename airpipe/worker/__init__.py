"""The job engine. Huey lives here and nowhere else; the worker imports no services."""
