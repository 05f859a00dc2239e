"""Which fashiongan this is: the installed distribution's version, or the source's own when the
package runs from a checkout that was never installed. Lowest layer: the CLI, the studio and the
public API all read it from here."""

from __future__ import annotations

from importlib import metadata

SOURCE_VERSION = "0.1.0"  # pyproject.toml's [project] version; a test keeps the two equal


def version() -> str:
    """The installed distribution's version (importlib.metadata), else SOURCE_VERSION."""
    try:
        return metadata.version("fashiongan")
    except metadata.PackageNotFoundError:
        return SOURCE_VERSION
