"""Measurements: the image core against other code (bench) and the local pipeline under load."""
