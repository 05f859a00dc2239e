"""`evaluate --cas`: the classification accuracy score, beside the same classifier trained on
the real training split (the shipped evaluator for Fashion-MNIST, the data set's judge)."""

from __future__ import annotations

from fashiongan.metrics.evaluator import Recipe


def classification_accuracy(args, ds, g, judged, images, labels) -> dict:
    """A generator draws fresh samples, as many as the training split (--cas-n); an .npz or
    export trains on its own images."""
    from fashiongan.generate.sampling import sample
    from fashiongan.metrics import cas, evaluator, judge

    if g is not None:
        images, labels = sample(g, args.cas_n or len(ds.train_index),
                                seed=args.seed + 1_000_000, batch_size=args.batch_size,
                                return_labels=True)
    epochs = {"epochs": args.cas_epochs} if args.cas_epochs else {}
    if ds.path is None:  # Fashion-MNIST: the shipped evaluator's recipe and accuracy
        recipe = Recipe(**epochs)
        base = evaluator.read_record().get("recipe", {})
        net, _ = evaluator.load()
        real = evaluator.accuracy(net, *cas.labelled_split(ds, "test"))
        what = "same classifier trained on real data"
    elif judged is None:
        recipe, base, real, what = judge.recipe_for(ds, epochs=args.cas_epochs), None, None, ""
    else:
        base = judged[1]["recipe"]
        recipe = Recipe(**{**base, **epochs})
        real = judged[1].get("test_accuracy")
        what = f"the judge, trained on {judged[1].get('train_images')} real images"
    res = cas.cas(ds, images, labels, recipe)
    res["real_data_accuracy"] = real
    res["like_for_like"] = base is not None and len(images) == len(ds.train_index) \
        and recipe.epochs == base.get("epochs")
    print(f"classification accuracy score: {100 * res['cas_accuracy']:.2f}% on the "
          f"{res['test_images']} real test images (" + (
              f"{what}: {100 * real:.2f}%" if real is not None else
              "no judge to compare with: `fashiongan evaluator train --data DATASET`")
          + ("" if res["like_for_like"] or real is None else
             f"; not like for like: {len(images)} generated images, {recipe.epochs} epochs")
          + ")")
    return res
