// Slurm hostlist expressions, expanded exactly as `scontrol show hostnames`.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace wattrun {

// Expands `r1i0n[1-3,5]`, `r1i[0-1]n[2,4]`, `a[001-003],b7`, keeping zero
// padding (`[08-10]` gives 08 09 10). Several bracket groups in one name
// give their cartesian product in scontrol's order. Throws wattrun::Error
// with the expression and the reason on malformed input (unbalanced
// brackets, bad range, range end before start, empty expression).
// `None assigned` and `(null)` give an empty list.
std::vector<std::string> ExpandHostlist(std::string_view expression);

// The inverse, for writers: compresses names into a hostlist expression
// with ranges over the trailing number of each name (`n[1-3,5]`), keeping
// the width of zero-padded numbers. Expanding the result gives back the
// same names in the same order when they are sorted per prefix (names
// holding `[`, `]`, `,` or spaces are written as they are).
std::string CompressHostlist(const std::vector<std::string>& names);

}  // namespace wattrun
