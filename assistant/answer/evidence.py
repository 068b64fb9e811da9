"""Attributes a question can ask for that only a passage stating one answers (a cost, a
score, a rate): shared by the question reader and the offline composer."""

from __future__ import annotations

import re

# Attributes a question can ask for that the library must state explicitly to answer.
ATTRIBUTES = re.compile(
    r"\b(cost\w*|price\w*|pay|paid|spend\w*|spent|salar\w*|tuition|budget\w*|fee\w*|licen[cs]\w*|"
    r"scores?|graduation|rates?|test results?|salary|dollars?|\$)\b",
    re.IGNORECASE,
)
