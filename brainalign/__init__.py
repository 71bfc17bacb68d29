"""brainalign: brain encoding and neural alignment.

Importing the package is cheap: torch, transformers and other heavy libraries are imported
inside the modules that need them.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
