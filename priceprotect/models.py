"""Models arrive with this app's issue; the app is registered now so the layout is final."""
