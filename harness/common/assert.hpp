// LIFECHECK_ASSERT: a harness invariant; aborts with a message in every build type.
#pragma once

#include <cstdio>
#include <cstdlib>

#define LIFECHECK_ASSERT(cond, what)                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr,                                                                   \
                         "%s:%d: lifecheck assertion failed: %s (%s)\n",                           \
                         __FILE__,                                                                 \
                         __LINE__,                                                                 \
                         what,                                                                     \
                         #cond);                                                                   \
            std::abort();                                                                          \
        }                                                                                          \
    } while (false)
