"""Evaluation: an evaluator network's feature space -> FID, KID, precision/recall/density/coverage,
class histogram; real-data statistics cached; an in-training FID hook; optional Inception FID."""
