"""The white paper's framework for a leadership team: discussion prompts, pathways, the
survey chart and the meeting guide, built from the catalog and passages.
"""
