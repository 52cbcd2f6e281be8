"""Everything of the studio that is not a screen: the model document, layers, shapes, training.

This package never imports Qt; tests/test_guards.py checks that in a fresh interpreter.
"""
