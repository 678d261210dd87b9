"""HTTP. Starlette lives here and nowhere else: the route table, decoding, encoding, errors."""
