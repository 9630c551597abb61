# Shared by the bench/ scripts (sourced, not run).

# bench_write_section DOC NAME FILE: puts FILE, a section that begins with a line
# "<!-- bench:NAME:begin ..." and ends with "<!-- bench:NAME:end -->", into DOC in place
# of the section of that name already there, or after a blank line at its end.
bench_write_section() {
    local doc=$1 name=$2 file=$3 tmp
    if grep -q "^<!-- bench:$name:begin" "$doc"; then
        tmp=$(mktemp "$doc.XXXXXX")
        awk -v t="$file" -v b="^<!-- bench:$name:begin" -v e="^<!-- bench:$name:end" '
            $0 ~ b {while ((getline l < t) > 0) print l; skip = 1; next}
            $0 ~ e {skip = 0; next}
            !skip {print}' "$doc" >"$tmp"
        cat "$tmp" >"$doc"
        rm -f "$tmp"
    else
        {
            echo
            cat "$file"
        } >>"$doc"
    fi
}
