"""The document database of one node: SQLite storage, documents, change vectors, revisions, databases."""
