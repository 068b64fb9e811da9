"""Embedders: the interface, MiniLM through sentence-transformers for ingest, and the ONNX
question encoder that starts fast for questions.
"""
