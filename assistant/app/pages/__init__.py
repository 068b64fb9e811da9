"""The Streamlit pages, one module each (Ask, Examples, Survey, Chart your path, Library);
`app.py` puts them in the navigation."""
