"""The `nntui` command line (placeholder until the subcommands land)."""

from __future__ import annotations

import sys

from nntui import __version__


def main(argv: list[str] | None = None) -> int:
    print(f"nntui {__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
