"""Posology."""
