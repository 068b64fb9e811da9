"""From a question to passages: planning, keyword and dense search fused, the slate, and
the loaded build that runs one retrieval per question.
"""
