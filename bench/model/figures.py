#!/usr/bin/python3
"""Figures of a scored, labelled test set, the same arithmetic for every filter.

    figures.py NAME SCORES THRESHOLD... [--at-false-positives N]

SCORES has one line a message: "<spam|ham> <probability|none> <path>". A message is called
spam when its probability is at or above the threshold; "none" (no answer) is called ham.
--at-false-positives N adds rows for the thresholds that flag exactly 0..N ham messages of
this very set (points of the ROC curve): chosen on the test set, so they flatter the filter
equally for every filter, and they compare recall at the same false-positive count.
"""
import sys


def read_scores(path):
    rows = []
    with open(path) as scores:
        for line in scores:
            label, probability, _ = line.split(" ", 2)
            value = -1.0 if probability == "none" else float(probability)
            rows.append((label == "spam", value))
    return rows


def row(name, rows, threshold):
    tp = sum(1 for spam, p in rows if spam and p >= threshold)
    fn = sum(1 for spam, p in rows if spam and p < threshold)
    fp = sum(1 for spam, p in rows if not spam and p >= threshold)
    tn = sum(1 for spam, p in rows if not spam and p < threshold)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    fpr = fp / (fp + tn) if fp + tn else 0.0
    accuracy = (tp + tn) / len(rows) if rows else 0.0
    print(f"| {name} | {threshold:.4f} | {precision:.2%} | {recall:.2%} | {fpr:.2%} | "
          f"{accuracy:.2%} | {fn} of {tp + fn} | {fp} of {fp + tn} |")


def threshold_flagging(rows, allowed):
    """The lowest threshold that flags at most `allowed` ham messages."""
    ham = sorted((p for spam, p in rows if not spam), reverse=True)
    if allowed >= len(ham):
        return 0.0
    # Just above the highest ham score that must stay ham.
    candidates = sorted({p for _, p in rows if p > ham[allowed]})
    return candidates[0] if candidates else 1.01


def main():
    args = sys.argv[1:]
    most_flagged = None
    if "--at-false-positives" in args:
        at = args.index("--at-false-positives")
        most_flagged = int(args[at + 1])
        del args[at:at + 2]
    if len(args) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    name, path, thresholds = args[0], args[1], [float(t) for t in args[2:]]
    rows = read_scores(path)
    for threshold in thresholds:
        row(name, rows, threshold)
    if most_flagged is not None:
        for allowed in range(most_flagged + 1):
            row(f"{name}, at most {allowed} ham flagged (threshold picked on the test set)",
                rows, threshold_flagging(rows, allowed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
