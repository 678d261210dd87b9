"""The loading machinery the built-in destinations share: batches, rows, SQL naming, the committer."""
