"""Sources that ship with airpipe, each a protocol program: ``python -m airpipe.sources.<name>``."""
