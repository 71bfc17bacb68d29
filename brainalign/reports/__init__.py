"""Tidy tables and figures from score results."""
