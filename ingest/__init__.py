"""Ingest: load library documents, repair and clean their text, recover their structure,
cut self-contained chunks and publish them atomically to the vector store."""
