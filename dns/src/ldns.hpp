#pragma once
// ldns for C++: without __bool_true_false_are_defined, ldns/common.h defines the macros `bool`,
// `true` and `false`, which break the standard library headers that follow. <stdbool.h> defines
// it (and nothing else) in C++.
#include <stdbool.h>

#include <ldns/ldns.h>
