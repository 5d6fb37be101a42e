"""The views that explain what training does; each is a tab of the app and a widget of its own."""
