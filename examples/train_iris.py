"""k-nearest-neighbours on the iris data set, Python standard library only.

Used by the demo under 'cairn run': reads a dataset version through
cairn.use_dataset (which records it as an input of the run), logs params, a
learning curve and the test accuracy, and stores the model as an artifact.

    cairn run -e iris-knn -- python3 train_iris.py --k 5 --data data/raw@v1.0.0
"""
import argparse
import csv
import json
import os
import random
from collections import Counter

import cairn


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    # The first line is a header of counts and class names (scikit-learn's layout).
    return [([float(x) for x in r[:-1]], int(r[-1])) for r in rows[1:] if r]


def predict(train, k, x):
    nearest = sorted(train, key=lambda s: sum((a - b) ** 2 for a, b in zip(s[0], x)))[:k]
    votes = Counter(label for _, label in nearest)
    best = max(votes.values())
    # Ties go to the class of the nearest neighbour among the tied ones.
    return next(label for _, label in nearest if votes[label] == best)


def accuracy(train, test, k):
    return sum(predict(train, k, x) == y for x, y in test) / len(test)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=int, default=5, help="neighbours that vote")
    ap.add_argument("--seed", type=int, default=7, help="seed of the train/test split")
    ap.add_argument("--test-fraction", type=float, default=0.3)
    ap.add_argument("--data", default="data/raw@v1.0.0", help="dataset ref holding iris.csv")
    args = ap.parse_args()

    with cairn.start_run(params={"k": args.k, "seed": args.seed, "test_fraction": args.test_fraction}):
        root = cairn.use_dataset(args.data)
        samples = load(os.path.join(root, "iris.csv"))
        random.Random(args.seed).shuffle(samples)
        n_test = int(len(samples) * args.test_fraction)
        test, train = samples[:n_test], samples[n_test:]
        # A learning curve: accuracy with the first 10, 20, … training samples.
        for step, n in enumerate(range(10, len(train) + 1, 10)):
            if n >= args.k:
                cairn.log_metric("curve_accuracy", accuracy(train[:n], test, args.k), step=step)
        acc = accuracy(train, test, args.k)
        cairn.log_metrics({"accuracy": acc, "test_samples": len(test)})
        os.makedirs("models", exist_ok=True)
        model = "models/knn-k%d.json" % args.k
        with open(model, "w") as f:
            json.dump({"k": args.k, "train": train}, f)
        cairn.log_artifact(model)
        print("k=%d accuracy=%.4f on %d test samples" % (args.k, acc, len(test)))


if __name__ == "__main__":
    main()
