"""Companion package."""
