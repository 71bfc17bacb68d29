"""Test helpers: tiny random models with offline tokenizers (no hub access)."""
