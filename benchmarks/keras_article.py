"""The article's own Keras training loop, timed: the yardstick fashiongan set out to beat.

Needs TensorFlow (any 2.x with Keras 3) and numpy only, not fashiongan, so that it runs from a
separate virtual environment:

    python -m venv /tmp/tfvenv && /tmp/tfvenv/bin/pip install tensorflow-cpu
    /tmp/tfvenv/bin/python benchmarks/keras_article.py --iterations 300 --threads 1

It prints one JSON line: {"ms_per_iter": ..., "images_per_s": ..., ...}. With --serve it warms
up, prints {"ready": ...}, then reads a number N per line from stdin, runs N iterations and
prints their JSON line, until stdin closes: benchmarks/throughput.py --keras drives it that way,
so that its blocks alternate with fashiongan's and both see the same load.

The loop is the article's: per iteration a random batch by np.random.randint, fakes from
`generator.predict`, `discriminator.train_on_batch` on the real batch and then on the fakes, and
`combined.train_on_batch` on fresh noise. Two changes make it run on current Keras, which the
published code does not: Dense units as Python ints, one Adam per model (Keras 3 binds an
optimiser to the variables it first sees), and `discriminator.trainable` set before each
train_on_batch (Keras 3 reads it when a train function is first traced, so the article's single
`trainable = False` would freeze D for its own training too).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

SEARCH = [os.environ.get("FASHION_MNIST_DIR", ""),
          str(Path.home() / ".cache/fashiongan/fashion-mnist"),
          "/usr/share/datasets/fashion-mnist"]


def load_train_images(data_dir: str | None) -> np.ndarray:
    """uint8 [60000, 28, 28] from train-images-idx3-ubyte(.gz)."""
    for d in [data_dir] if data_dir else [s for s in SEARCH if s]:
        for name in ("train-images-idx3-ubyte", "train-images-idx3-ubyte.gz"):
            p = Path(d) / name
            if p.is_file():
                raw = gzip.decompress(p.read_bytes()) if name.endswith(".gz") else p.read_bytes()
                return np.frombuffer(raw, np.uint8, offset=16).reshape(-1, 28, 28)
    sys.exit("keras_article: Fashion-MNIST train images not found (give --data-dir)")


def build(keras, latent_dim: int = 100):
    from keras import layers

    img_shape = (28, 28, 1)
    g = keras.Sequential([
        keras.Input((latent_dim,)),
        layers.Dense(256), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8),
        layers.Dense(512), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8),
        layers.Dense(1024), layers.LeakyReLU(0.2), layers.BatchNormalization(momentum=0.8),
        layers.Dense(int(np.prod(img_shape)), activation="tanh"),
        layers.Reshape(img_shape),
    ])
    d = keras.Sequential([
        keras.Input(img_shape), layers.Flatten(),
        layers.Dense(512), layers.LeakyReLU(0.2),
        layers.Dense(256), layers.LeakyReLU(0.2),
        layers.Dense(1, activation="sigmoid"),
    ])
    d.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.0002, 0.5),
              metrics=["accuracy"])
    z = keras.Input((latent_dim,))
    d.trainable = False
    combined = keras.Model(z, d(g(z)))
    combined.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.0002, 0.5))
    return g, d, combined


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--iterations", type=int, default=300, help="timed iterations")
    ap.add_argument("--warmup", type=int, default=20, help="untimed first iterations (tracing)")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="TF intra/inter-op threads; 0: TF's")
    ap.add_argument("--data-dir", default=None)
    ap.add_argument("--serve", action="store_true", help="time blocks of N read from stdin")
    args = ap.parse_args(argv)

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras

    keras.utils.set_random_seed(0)
    x_train = load_train_images(args.data_dir) / 127.5 - 1.0
    x_train = np.expand_dims(x_train, axis=3)
    g, d, combined = build(keras)
    bs = args.batch_size
    valid, fake = np.ones((bs, 1)), np.zeros((bs, 1))

    def iteration():
        idx = np.random.randint(0, x_train.shape[0], bs)
        imgs = x_train[idx]
        noise = np.random.normal(0, 1, (bs, 100))
        gen_imgs = g.predict(noise, verbose=0)
        d.trainable = True
        d_loss_real = d.train_on_batch(imgs, valid)
        d_loss_fake = d.train_on_batch(gen_imgs, fake)
        d_loss = 0.5 * np.add(d_loss_real, d_loss_fake)
        noise = np.random.normal(0, 1, (bs, 100))
        d.trainable = False
        g_loss = combined.train_on_batch(noise, valid)
        return d_loss, g_loss

    def block(n: int) -> None:
        t0 = time.perf_counter()
        for _ in range(n):
            d_loss, g_loss = iteration()
        dt = (time.perf_counter() - t0) / n
        print(json.dumps({"ms_per_iter": dt * 1e3, "images_per_s": bs / dt, "iterations": n,
                          "batch_size": bs, "tensorflow": tf.__version__,
                          "keras": keras.__version__, "d_loss": float(np.ravel(d_loss)[0]),
                          "g_loss": float(np.ravel(g_loss)[0]), "threads": args.threads}),
              flush=True)

    for _ in range(args.warmup):
        iteration()
    if not args.serve:
        block(args.iterations)
        return
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if line.strip():
            block(int(line))


if __name__ == "__main__":
    main()
