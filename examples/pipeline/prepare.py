"""Pipeline stage 1: split the raw iris table into train/test (deterministic).

Usage: python3 prepare.py --seed N --ratio R   (reads data/raw/iris.csv)
"""
import argparse
import csv
import os
import random

ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, required=True)
ap.add_argument("--ratio", type=float, required=True)
args = ap.parse_args()

with open("data/raw/iris.csv", newline="") as f:
    rows = list(csv.reader(f))
header, rows = rows[0], rows[1:]
random.Random(args.seed).shuffle(rows)
cut = int(len(rows) * args.ratio)
os.makedirs("data/prepared", exist_ok=True)
for name, part in (("train.csv", rows[:cut]), ("test.csv", rows[cut:])):
    with open(os.path.join("data/prepared", name), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(part)
print(f"prepared {cut} training and {len(rows) - cut} test rows (seed {args.seed})")
