"""The studio: a web page and REST API serving new designs by category.

Needs the `serve` extra (FastAPI, uvicorn): `pip install fashiongan[serve]`. Importing this
package does not import FastAPI, so the `fashiongan` command works without the extra.
"""
