"""Where builds live: the CURRENT pointer, atomic publish and prune, the one reader of the
live build (`open_live`), and the vector store interface over Chroma.
"""
