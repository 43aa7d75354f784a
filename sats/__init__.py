"""Sats: a scholarly manuscript in, a print-ready PDF and an EPUB 3 edition out."""

__version__ = "0.1.0"
