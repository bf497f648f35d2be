# `nft list` output reduced to what must match: handles dropped, whitespace collapsed, the items of
# every { a, b, ... } list sorted (the kernel may hand back set and map elements in any order), and
# each line prefixed with its table and object, so that sorting the output puts objects in name
# order (a table lists them in creation order, which a transaction changes) while the lines of one
# object keep their order (a chain's rules). Output: KEY<TAB>SEQ<TAB>LINE; pipe it through
# `LC_ALL=C sort | cut -f1,3`. POSIX awk (busybox awk runs it in the VM).

function sort_items(s,    n, items, i, j, tmp, out) {
  n = split(s, items, /, */)
  for (i = 2; i <= n; i++) {
    tmp = items[i]
    for (j = i - 1; j >= 1 && items[j] > tmp; j--) items[j + 1] = items[j]
    items[j + 1] = tmp
  }
  out = items[1]
  for (i = 2; i <= n; i++) out = out ", " items[i]
  return out
}

# Innermost brace groups first; sorted groups are marked with \001 \002 so they are not matched again.
function sort_braces(line,    pre, body, post) {
  while (match(line, /\{[^{}]*\}/)) {
    pre = substr(line, 1, RSTART - 1)
    body = substr(line, RSTART + 1, RLENGTH - 2)
    post = substr(line, RSTART + RLENGTH)
    gsub(/^ +| +$/, "", body)
    line = pre "\001 " sort_items(body) " \002" post
  }
  gsub(/\001/, "{", line)
  gsub(/\002/, "}", line)
  return line
}

function emit(line) {
  sub(/ *# handle [0-9]+/, "", line)
  gsub(/[ \t]+/, " ", line)
  sub(/^ /, "", line)
  sub(/ $/, "", line)
  if (line == "") return
  line = sort_braces(line)
  # Depth 0: table lines; depth 1: an object's header opens it, its closing brace ends it.
  if (depth == 0 && line ~ /^table /) { table = line; object = ""; key = table }
  else if (depth == 1 && line ~ /\{$/) { object = line; key = table " " object }
  seq++
  printf "%s\t%08d\t%s\n", key, seq, line
  if (line ~ /\{$/) depth++
  if (line ~ /^\}$/) { depth--; if (depth == 1) object = "" ; if (depth == 0) table = "" }
  if (depth == 1 && object == "") key = table
}

{
  # A list of elements spans lines until its closing brace: join it first.
  if (pending != "") {
    pending = pending " " $0
    if (index($0, "}")) { emit(pending); pending = "" }
    next
  }
  if ($0 ~ /= \{/ && $0 !~ /\}/) { pending = $0; next }
  emit($0)
}
END { if (pending != "") emit(pending) }
