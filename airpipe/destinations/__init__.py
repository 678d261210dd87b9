"""Destinations that ship with airpipe, each a protocol ``write`` program: ``python -m airpipe.destinations.<name>``."""
