#!/bin/sh
# Side by side on the same split of the shared corpus: relaygate's model and SpamAssassin's
# Bayes (sa-learn), each trained on the train part and measured on the test part
# (bench/model/README.md says why and how).
#
#   bench/model/compare.sh [CORPUS_DIR]     (default: ../shared/testdata/corpus)
#
# Needs: bench/model/build.sh run first (or MODEL_TOOL=path), Debian's spamassassin package
# (sa-learn, Mail::SpamAssassin), /usr/bin/python3. Nothing touches the network: sa-learn and
# the scoring run with local tests only and a fresh Bayes database in a temporary directory.
# KEEP_SCORES=DIR keeps both score files (label, probability, path per line).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
source_dir=$(cd "$here/../.." && pwd)
corpus=${1:-$source_dir/../shared/testdata/corpus}
tool=${MODEL_TOOL:-$source_dir/build-bench/model_tool}
work=$(mktemp -d /tmp/relaygate-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT

spam_dirs="$corpus/spam-1 $corpus/spam-2"
ham_dirs="$corpus/easy-ham-1 $corpus/easy-ham-2 $corpus/hard-ham-1"
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# The split: the same rule in Python (split.py) and C++ (model::in_test_split).
for part in train test; do
    "$here/split.py" "$part" $spam_dirs >"$work/${part}_spam"
    "$here/split.py" "$part" $ham_dirs >"$work/${part}_ham"
done
echo "split: train $(wc -l <"$work/train_spam") spam, $(wc -l <"$work/train_ham") ham;" \
     "test $(wc -l <"$work/test_spam") spam, $(wc -l <"$work/test_ham") ham"

# relaygate: train (threshold tuned by cross-validation inside the train part), then score.
start=$(now)
"$tool" train --split train -o "$work/relaygate.model" --spam $spam_dirs --ham $ham_dirs \
    >"$work/relaygate.train"
relaygate_train=$(elapsed "$start" "$(now)")
threshold=$(sed -n 's/^threshold: //p' "$work/relaygate.train")
start=$(now)
"$tool" scores --split test "$work/relaygate.model" --spam $spam_dirs --ham $ham_dirs \
    >"$work/relaygate.scores"
relaygate_score=$(elapsed "$start" "$(now)")

# SpamAssassin's Bayes: a fresh database, no expiry (the corpus dates from 2002 and expiry
# would drop most tokens), learned from the same train files.
bayes="$work/sa/bayes"
sa_cf="bayes_auto_expire 0"
start=$(now)
sa-learn --dbpath "$bayes" -p /dev/null --cf "$sa_cf" --no-sync --spam -f "$work/train_spam"
sa-learn --dbpath "$bayes" -p /dev/null --cf "$sa_cf" --no-sync --ham -f "$work/train_ham"
sa-learn --dbpath "$bayes" -p /dev/null --cf "$sa_cf" --sync
sa_train=$(elapsed "$start" "$(now)")
start=$(now)
for label in spam ham; do
    "$here/sa_bayes.pl" "$bayes" <"$work/test_$label" | sed "s/^/$label /"
done >"$work/sa.scores"
sa_score=$(elapsed "$start" "$(now)")

tested=$(cat "$work/test_spam" "$work/test_ham" | wc -l)
echo
echo "| filter | threshold | precision | recall | false-positive rate | accuracy |" \
     "spam missed | ham flagged |"
echo "|---|---|---|---|---|---|---|---|"
"$here/figures.py" "relaygate" "$work/relaygate.scores" "$threshold"
# SpamAssassin's Bayes never decides alone; its rule bands start at these probabilities
# (BAYES_50 .. BAYES_99). 0.5 is also what it answers with no opinion.
"$here/figures.py" "SpamAssassin Bayes" "$work/sa.scores" 0.5 0.6 0.8 0.95 0.99
echo
echo "Same number of ham flagged (thresholds picked on the test set, for both):"
echo
echo "| filter | threshold | precision | recall | false-positive rate | accuracy |" \
     "spam missed | ham flagged |"
echo "|---|---|---|---|---|---|---|---|"
"$here/figures.py" "relaygate" "$work/relaygate.scores" --at-false-positives 3
"$here/figures.py" "SpamAssassin Bayes" "$work/sa.scores" --at-false-positives 3
if [ -n "${KEEP_SCORES:-}" ]; then
    cp "$work/relaygate.scores" "$work/sa.scores" "$KEEP_SCORES"/
fi
echo
echo "relaygate: training $relaygate_train s (reading the mail included)," \
     "scoring $(echo "scale=3; $relaygate_score * 1000 / $tested" | bc) ms a message" \
     "(process per run, reading, parsing included)"
echo "SpamAssassin: sa-learn $sa_train s," \
     "scoring $(echo "scale=3; $sa_score * 1000 / $tested" | bc) ms a message (all local rules)"
