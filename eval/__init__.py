"""Evaluation, outside the runtime package: scoring on question sets next to the stock
LangChain recipe (`lbw eval`, the `eval` extra).
"""
