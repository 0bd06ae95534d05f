"""Softmax regression on the wine data set, written for MLflow's fluent API.

Nothing here is cairn-specific except the import: with ``import mlflow`` the
same script logs to an MLflow tracking server. It runs a small learning-rate
sweep as nested runs under one parent run, logs params, per-epoch metrics with
steps, tags, a description, a config (log_dict), a report (log_text), the model
from a temporary directory (log_artifact) and a directory of per-class files
(log_artifacts), then picks the best child run with search_runs and tags the
parent with it. Python standard library only.

    cd <repository> && python3 examples/mlflow_style/train_wine.py examples/data/wine_data.csv
"""
import argparse
import csv
import json
import math
import os
import random
import tempfile

import cairn as mlflow


def load(path):
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    header, body = rows[0], rows[1:]  # scikit-learn's layout: counts and class names first
    classes = header[2:]
    return [[float(x) for x in r[:-1]] for r in body], [int(r[-1]) for r in body], classes


def standardize(train, test):
    cols = list(zip(*train))
    mean = [sum(c) / len(c) for c in cols]
    std = [math.sqrt(sum((x - m) ** 2 for x in c) / len(c)) or 1.0 for c, m in zip(cols, mean)]
    scale = lambda rows: [[(x - m) / s for x, m, s in zip(r, mean, std)] for r in rows]
    return scale(train), scale(test)


def softmax(z):
    top = max(z)
    e = [math.exp(v - top) for v in z]
    total = sum(e)
    return [v / total for v in e]


def predict(w, x):
    return softmax([sum(wi * xi for wi, xi in zip(row, x + [1.0])) for row in w])


def evaluate(w, xs, ys):
    loss = correct = 0
    for x, y in zip(xs, ys):
        p = predict(w, x)
        loss -= math.log(max(p[y], 1e-12))
        correct += max(range(len(p)), key=p.__getitem__) == y
    return loss / len(xs), correct / len(xs)


def train(lr, epochs, xs, ys, xt, yt, n_classes, seed):
    rng = random.Random(seed)
    w = [[rng.gauss(0, 0.01) for _ in range(len(xs[0]) + 1)] for _ in range(n_classes)]
    for epoch in range(epochs):
        grad = [[0.0] * len(w[0]) for _ in w]
        for x, y in zip(xs, ys):
            p = predict(w, x)
            for k in range(n_classes):
                d = p[k] - (k == y)
                for j, xj in enumerate(x + [1.0]):
                    grad[k][j] += d * xj
        w = [[wj - lr * g / len(xs) for wj, g in zip(wk, gk)] for wk, gk in zip(w, grad)]
        train_loss, train_acc = evaluate(w, xs, ys)
        test_loss, test_acc = evaluate(w, xt, yt)
        mlflow.log_metrics({"train_loss": train_loss, "train_accuracy": train_acc}, step=epoch)
        mlflow.log_metric("test_loss", test_loss, step=epoch)
        mlflow.log_metric("test_accuracy", test_acc, step=epoch)
    return w, test_acc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", help="wine_data.csv")
    ap.add_argument("--experiment", default="wine-softmax")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lrs", default="0.05,0.2,0.8", help="learning rates of the sweep")
    ap.add_argument("--seed", type=int, default=3)
    args = ap.parse_args()

    xs, ys, classes = load(args.data)
    order = list(range(len(xs)))
    random.Random(args.seed).shuffle(order)
    n_test = len(xs) // 4
    test_idx, train_idx = order[:n_test], order[n_test:]
    xtrain, xtest = standardize([xs[i] for i in train_idx], [xs[i] for i in test_idx])
    ytrain, ytest = [ys[i] for i in train_idx], [ys[i] for i in test_idx]

    experiment = mlflow.set_experiment(args.experiment)
    with mlflow.start_run(run_name="sweep", description="learning-rate sweep of softmax regression",
                          tags={"model": "softmax"}) as parent:
        mlflow.log_params({"epochs": args.epochs, "seed": args.seed, "test_rows": n_test})
        mlflow.log_dict({"classes": classes, "learning_rates": args.lrs.split(",")}, "config/sweep.json")
        for lr in [float(v) for v in args.lrs.split(",")]:
            with mlflow.start_run(run_name="lr-%g" % lr, nested=True):
                mlflow.log_param("lr", lr)
                mlflow.set_tag("stage", "sweep")
                w, acc = train(lr, args.epochs, xtrain, ytrain, xtest, ytest, len(classes), args.seed)
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "weights.json")
                    with open(path, "w") as f:
                        json.dump({"classes": classes, "weights": w}, f)
                    mlflow.log_artifact(path, artifact_path="model")
                    per_class = os.path.join(tmp, "per_class")
                    os.mkdir(per_class)
                    for k, name in enumerate(classes):
                        with open(os.path.join(per_class, name + ".txt"), "w") as f:
                            f.write(" ".join("%.6f" % v for v in w[k]) + "\n")
                    mlflow.log_artifacts(per_class, artifact_path="per_class")
                mlflow.log_text("lr=%g test_accuracy=%.4f\n" % (lr, acc), "report.txt")
        children = mlflow.search_runs(
            experiment_ids=[experiment.experiment_id],
            filter_string="tags.mlflow.parentRunId = '%s'" % parent.info.run_id,
            order_by=["metrics.test_accuracy DESC"], output_format="list")
        best = children[0]
        mlflow.set_tags({"best_run": best.info.run_id, "best_lr": best.data.params["lr"]})
        mlflow.log_metric("best_test_accuracy", best.data.metrics["test_accuracy"])
    last = mlflow.last_active_run()
    print(json.dumps({"parent": last.info.run_id, "status": last.info.status, "best": best.info.run_id,
                      "children": [r.info.run_id for r in children]}))


if __name__ == "__main__":
    main()
