"""`fashiongan export`: synthetic data sets to share, in the layouts other tools read.

plan.py draws the images (seeds, balanced classes, the judge's labels and confidence
filter), formats.py writes them (idx.py the IDX files of the original Fashion-MNIST),
manifest.py describes an export and reads one back, cli.py is the subcommand.
"""
