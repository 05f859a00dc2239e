"""Fabrics: learn a textile from one to a few swatch photos (the texture generator of
models/texture.py, trained by the same Trainer on random crops), weave it at any size and
seamless, judge it, and dress garment designs in it."""
