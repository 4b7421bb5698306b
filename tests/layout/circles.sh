#!/bin/sh
# Calls between files go one way (docs/ARCHITECTURE.md): no circle of files
# of daemon/, ctl/ and common/ that call each other, directly or through
# others. Read from the built objects with nm: X uses a symbol that Y
# defines is an edge X -> Y; a circle is a group of files each reachable
# from every other. A circle is an error unless tests/layout/circles.allow
# names a group that holds it (the allow-list says why, and should be empty).
#
#   circles.sh [BUILD_DIR]      (make check runs it in the top build dir)
#
# First the circle finder proves itself on a small graph with a known
# answer, so that a broken finder cannot pass a tangled tree.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=${1:-${P2PCHAT_BUILDDIR:-.}}
allow=${CIRCLES_ALLOW:-$here/circles.allow}

command -v nm >/dev/null 2>&1 || { echo "circles: no nm here: skipped"; exit 77; }

# Input: "EDGE FROM TO SYMBOL" lines. Output: one line per circle, its
# files sorted and separated by spaces; then, with why=1, "  A -> B: syms".
circles_of() {
	awk -v why="${1:-0}" '
	$1 == "EDGE" {
		if (!($2 in id)) { id[$2] = ++n; name[n] = $2 }
		if (!($3 in id)) { id[$3] = ++n; name[n] = $3 }
		a = id[$2]; b = id[$3]
		r[a, b] = 1
		if (!((a, b) in syms)) syms[a, b] = $4
		else if (length(syms[a, b]) < 200) syms[a, b] = syms[a, b] ", " $4
	}
	END {
		# files in name order (insertion sort: a few dozen names)
		for (i = 1; i <= n; i++) ord[i] = i
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && name[ord[j]] < name[ord[j - 1]]; j--) {
				t = ord[j]; ord[j] = ord[j - 1]; ord[j - 1] = t
			}
		# reachability (Warshall)
		for (k = 1; k <= n; k++)
			for (i = 1; i <= n; i++)
				if ((i, k) in r)
					for (j = 1; j <= n; j++)
						if ((k, j) in r) r[i, j] = 1
		for (x = 1; x <= n; x++) {
			i = ord[x]
			if (i in done || !((i, i) in r)) continue
			line = ""; m = 0
			for (y = x; y <= n; y++) {
				j = ord[y]
				if (j == i || (((i, j) in r) && ((j, i) in r))) {
					done[j] = 1; mem[++m] = j
					line = line (line == "" ? "" : " ") name[j]
				}
			}
			print line
			if (why)
				for (p = 1; p <= m; p++)
					for (q = 1; q <= m; q++)
						if ((mem[p], mem[q]) in syms)
							print "  " name[mem[p]] " -> " name[mem[q]] ": " syms[mem[p], mem[q]]
		}
	}'
}

# The finder on a graph whose answer is known: a b c in a circle, d e not,
# f g a second one.
got=$(printf '%s\n' "EDGE a b s" "EDGE b c s" "EDGE c a s" "EDGE c d s" \
	"EDGE d e s" "EDGE g f s" "EDGE f g s" "EDGE e f s" | circles_of)
want=$(printf '%s\n' "a b c" "f g")
if [ "$got" != "$want" ]; then
	echo "circles: the circle finder is broken: got '$got', want '$want'"
	exit 99
fi

# The objects of the programs (not tests, fuzz targets or benchmarks).
objs=$(find "$build/daemon" "$build/ctl" "$build/common" -name '*.o' 2>/dev/null | sort)
for d in daemon ctl common; do
	case $objs in
	*"$build/$d/"*) ;;
	*) echo "circles: no objects under $build/$d: build first"; exit 99 ;;
	esac
done

# "D FILE SYM" for what each object defines, "U FILE SYM" for what it uses.
# FILE is the source file: daemon/x.o -> daemon/x.c; automake's per-target
# prefix (p2pchatd-x.o) is dropped.
# An object whose source is gone (a file moved or removed since this
# tree was last built) is left out: its symbols are its successor's too.
edges=$(for o in $objs; do
	f=${o#"$build/"}; f=${f%.o}
	b=${f##*/}; d=${f%/*}; b=${b#*-}; f=$d/$b.c
	[ -f "$src/$f" ] || continue
	nm -g --defined-only "$o" | awk -v f="$f" 'NF >= 3 { print "D", f, $3 }'
	nm -u "$o" | awk -v f="$f" 'NF >= 2 { print "U", f, $2 }'
done | awk '
	$1 == "D" { if (!($3 in def)) def[$3] = $2; next }
	{ use[++n] = $2; sym[n] = $3 }
	END { for (i = 1; i <= n; i++)
		if ((sym[i] in def) && def[sym[i]] != use[i])
			print "EDGE", use[i], def[sym[i]], sym[i] }' | sort -u)

nedges=$(printf '%s\n' "$edges" | awk '{ print $2, $3 }' | sort -u | wc -l)
if [ "$nedges" -lt 50 ]; then
	echo "circles: only $nedges edges between files: not a full build?"
	exit 99
fi

found=$(printf '%s\n' "$edges" | circles_of)
allowed=$(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$allow" 2>/dev/null || true)

# A circle passes when one allowed group holds every file of it.
held() {
	printf '%s\n' "$allowed" | while read -r group; do
		ok=1
		for f in $1; do
			case " $group " in *" $f "*) ;; *) ok=0; break ;; esac
		done
		if [ $ok = 1 ]; then echo yes; break; fi
	done
}

nl='
'
status=0
if [ -n "$found" ]; then
	IFS=$nl
	for c in $found; do
		IFS=' '
		if [ -n "$(held "$c")" ]; then
			echo "circles: allowed (circles.allow): $c"
		else
			echo "circles: FAIL: these files call each other in a circle: $c"
			printf '%s\n' "$edges" | awk -v c=" $c " '
				index(c, " " $2 " ") && index(c, " " $3 " ") { print }' |
				circles_of 1 | sed -n 's/^  /    /p'
			status=1
		fi
		IFS=$nl
	done
	IFS=' '
fi
# An allowed group with no circle left in it, or larger than the circle it
# holds: the list can shrink.
if [ -n "$allowed" ]; then
	printf '%s\n' "$allowed" | while read -r group; do
		case "$nl$found$nl" in
		*"$nl$group$nl"*) ;;
		*) echo "circles: note: circles.allow can shrink: no circle is exactly '$group'" ;;
		esac
	done
fi
n=$(printf '%s' "$found" | grep -c . || true)
echo "circles: $n circle(s), $nedges edges between $(echo "$objs" | wc -w) objects"
[ $status = 0 ] && echo "circles: PASS"
exit $status
