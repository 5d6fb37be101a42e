"""Reusable widgets of the nntui app: each owns its state and styling and talks to the app by messages."""
