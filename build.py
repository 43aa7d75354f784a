#!/usr/bin/env python3
"""Build the editions of a manuscript: `python build.py --help`."""

from sats.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
