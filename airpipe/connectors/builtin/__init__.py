"""Sources that ship with airpipe, each a protocol program: ``python -m airpipe.connectors.builtin.<name>``."""
