#include "rng.h"

#include <math.h>

double cgpc_rng_normal(cgpc_rng *r)
{
    double u1 = 1.0 - cgpc_rng_double(r); /* (0, 1]: log() stays finite */
    double u2 = cgpc_rng_double(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}
