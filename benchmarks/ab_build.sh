#!/usr/bin/env bash
# Interleaved A/B of two checkouts of digest on twin copies of one site: each round runs
# every scenario with A, then with B, so both see the same machine (machines here are
# noisy); prints the median wall seconds of each. Sites must be built once by their own
# checkout first, and have a templates/ folder. "template" adds a comment to the article
# template (every article page rendered again, none written); "template shown" changes
# what every article page shows (all rewritten); "remove 1" deletes a record a third into
# the archive (the twin sites must hold the same records); "move 1" gives the middle record
# a new quality, heat and topics; "add 10 new" adds ten of which one has a new source and
# one a new topic. AB_QUICK=1 leaves out the template scenarios.
#
#   benchmarks/ab_build.sh /tmp/old-checkout . /tmp/site-a /tmp/site-b 5
set -euo pipefail
A_CODE=$(cd "$1" && pwd); B_CODE=$(cd "$2" && pwd); A_SITE=$3; B_SITE=$4; ROUNDS=${5:-5}
PY=${PYTHON:-$B_CODE/.venv/bin/python}
OUT=$(mktemp)

edit() { # site n mode: retitle the newest record, the middle one, add ten records, delete or move one
  "$PY" - "$@" <<'PYEOF'
import re, sys
from pathlib import Path
site, n, mode = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
records = sorted((site / "content").rglob("*.md"))
if mode in ("add", "addnew"):
    source = records[-1].read_text(encoding="utf-8")
    for i in range(10):
        text = re.sub(r"^webUrl: .*$", f'webUrl: "https://bench.example.org/ab/{n}/{i}"', source, count=1, flags=re.M)
        if mode == "addnew" and i == 0:
            text = re.sub(r"^provider:\n  name: .*\n  domain: .*\n", f"provider:\n  name: AB {n}\n  domain: ab{n}.example\n",
                          text, count=1, flags=re.M)
        if mode == "addnew" and i == 1:
            text = re.sub(r"^topics:\n", f"topics:\n  - AB topic {n}\n", text, count=1, flags=re.M)
        (site / "content" / f"ab-{n}-{i}.md").write_text(text, encoding="utf-8")
elif mode == "move":  # the middle record: a new quality, heat and topics
    path = records[len(records) // 2]
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^quality: .*$", f"quality: {int(n) % 97}", text, count=1, flags=re.M)
    text = re.sub(r"^heat: .*$", f"heat: {int(n) % 5000}", text, count=1, flags=re.M)
    text = re.sub(r"^topics:\n(?:  - .*\n)+", "topics:\n  - Privacy\n" if int(n) % 2 else "topics:\n  - Robotics\n",
                  text, count=1, flags=re.M)
    path.write_text(text, encoding="utf-8")
elif mode == "remove":  # one a third into the archive (twin sites lose the same one)
    records[len(records) // 3].unlink()
else:
    path = records[-1] if mode == "newest" else records[len(records) // 2]
    path.write_text(re.sub(r'^title: "', f'title: "AB {n} ', path.read_text(encoding="utf-8"), count=1, flags=re.M),
                    encoding="utf-8")
PYEOF
}

run() { # label code site
  local start end
  start=$(date +%s.%N)
  (cd "$2" && "$PY" -m digest build "$3" >/dev/null)
  end=$(date +%s.%N)
  echo "$1 $(echo "$end - $start" | bc)" >>"$OUT"
}

for round in $(seq "$ROUNDS"); do
  for scenario in "edit 1:newest" "edit 1 old:middle" "move 1:move" "add 10:add" "add 10 new:addnew" "remove 1:remove"; do
    name=${scenario%%:*}; mode=${scenario##*:}; n="$round$RANDOM"
    edit "$A_SITE" "$n" "$mode"; run "A|$name" "$A_CODE" "$A_SITE"
    edit "$B_SITE" "$n" "$mode"; run "B|$name" "$B_CODE" "$B_SITE"
  done
  run "A|no-op" "$A_CODE" "$A_SITE"; run "B|no-op" "$B_CODE" "$B_SITE"
  [ "${AB_QUICK:-0}" = 1 ] && continue
  for site in "$A_SITE" "$B_SITE"; do
    cp "$B_CODE/templates/article.html" "$site/templates/article.html"
    echo "{# ab $round $RANDOM #}" >>"$site/templates/article.html"
  done
  run "A|template" "$A_CODE" "$A_SITE"; run "B|template" "$B_CODE" "$B_SITE"
  for site in "$A_SITE" "$B_SITE"; do  # a change every article page shows: 9,000 files rewritten
    sed "s/<article class=\"story/<article data-ab=\"$round\" class=\"story/" "$B_CODE/templates/article.html" \
      >"$site/templates/article.html"
  done
  run "A|template shown" "$A_CODE" "$A_SITE"; run "B|template shown" "$B_CODE" "$B_SITE"
done
"$PY" - "$OUT" <<'PYEOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    key, seconds = line.rsplit(" ", 1)
    rows.setdefault(key, []).append(float(seconds))
print(f"{'scenario':<15} {'A median s':>11} {'B median s':>11} {'change':>8}")
for name in ("edit 1", "edit 1 old", "move 1", "add 10", "add 10 new", "remove 1", "template", "template shown", "no-op"):
    if f"A|{name}" not in rows:
        continue
    a, b = statistics.median(rows[f"A|{name}"]), statistics.median(rows[f"B|{name}"])
    print(f"{name:<15} {a:>11.2f} {b:>11.2f} {100 * (b - a) / a:>+7.0f}%")
PYEOF
rm -f "$OUT"
