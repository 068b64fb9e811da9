"""The Streamlit app's pages and helpers (the only package that imports Streamlit) and the
seam through which the app gets its Assistant.
"""
