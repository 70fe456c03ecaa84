// The one way the dns module includes ldns.
#pragma once

// Without <stdbool.h> first, ldns/common.h defines `false` and `true` as the macros 0 and 1,
// which breaks C++20's <optional> (`bool(x) <=> false` becomes `bool <=> int`).
#include <stdbool.h>

#include <ldns/ldns.h>
