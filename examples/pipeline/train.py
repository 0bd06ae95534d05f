"""Pipeline stage 2: "train" k-nearest-neighbours: the model is the scaled
training set plus k (deterministic JSON). Reads params.yaml's train.k."""
import csv
import json
import os

def read_params():
    k = None
    section = None
    with open("params.yaml") as f:
        for line in f:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if not line.startswith(" "):
                section = line.split(":")[0].strip()
            elif section == "train" and line.strip().startswith("k:"):
                k = int(line.split(":", 1)[1])
    return k

k = read_params()
with open("data/prepared/train.csv", newline="") as f:
    rows = list(csv.reader(f))[1:]
features = [[float(x) for x in r[:-1]] for r in rows]
labels = [r[-1] for r in rows]
lo = [min(c) for c in zip(*features)]
hi = [max(c) for c in zip(*features)]
scaled = [[round((x - l) / ((h - l) or 1), 6) for x, l, h in zip(r, lo, hi)] for r in features]
os.makedirs("models", exist_ok=True)
with open("models/model.json", "w") as f:
    json.dump({"k": k, "lo": lo, "hi": hi, "points": scaled, "labels": labels}, f, sort_keys=True)
print(f"trained kNN with k={k} on {len(rows)} rows")
