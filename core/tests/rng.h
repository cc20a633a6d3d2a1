/* Seeded random numbers for the simulations of the unit tests:
 * splitmix64, uniform in [0,1) and standard normal (Box-Muller). */
#ifndef PP_TEST_RNG_H
#define PP_TEST_RNG_H
#include <math.h>
#include <stdint.h>

static double rng_unit(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double)(z >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(uint64_t *s)
{
    double a = rng_unit(s), b = rng_unit(s);
    return sqrt(-2.0 * log(1.0 - a)) * cos(6.283185307179586 * b);
}
#endif
