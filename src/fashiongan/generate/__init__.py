"""Generating from a trained G: latents, latent paths and class blends (latent.py), the CLI's
interpolation strip (interpolate.py).

This file imports nothing: sampling.py imports generate.latent, and generate.interpolate
imports sampling, so an import here would close that loop.
"""
