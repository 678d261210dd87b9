"""The API's msgspec Structs, named as in the spec (SourceCreate, SourceRead, ...)."""
