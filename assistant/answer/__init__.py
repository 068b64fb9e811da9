"""From retrieved evidence to a cited answer: the scope decision, sentence evidence, the one
citation numberer, the Composer interface, the answer stream and the offline composer.
"""
