"""What the views that explain training compute, from the session's own model and data (no Textual here).

Each module serves one view: ``health`` (alarms about gradients and updates), ``weights`` (matrices to draw),
``boundary`` (a 2-D model's decision over a grid), ``digits`` (confusion matrix and mistakes), ``trace`` (one
sample's forward and backward pass with the actual numbers).
"""
