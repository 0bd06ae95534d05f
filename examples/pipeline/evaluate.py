"""Pipeline stage 3: accuracy of the model on the test split -> metrics.json."""
import csv
import json
from collections import Counter

with open("models/model.json") as f:
    m = json.load(f)
with open("data/prepared/test.csv", newline="") as f:
    rows = list(csv.reader(f))[1:]
correct = 0
for r in rows:
    x = [(float(v) - l) / ((h - l) or 1) for v, l, h in zip(r[:-1], m["lo"], m["hi"])]
    dist = sorted((sum((a - b) ** 2 for a, b in zip(x, p)), i) for i, p in enumerate(m["points"]))
    votes = Counter(m["labels"][i] for _, i in dist[: m["k"]])
    correct += votes.most_common(1)[0][0] == r[-1]
acc = correct / len(rows)
with open("metrics.json", "w") as f:
    json.dump({"accuracy": round(acc, 6), "test": {"rows": len(rows)}}, f, indent=1, sort_keys=True)
print(f"accuracy {acc:.4f} on {len(rows)} test rows")
