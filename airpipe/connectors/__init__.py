"""Running connectors: the five-verb launcher, stdout parsing, the registry and the shared entrypoint."""
