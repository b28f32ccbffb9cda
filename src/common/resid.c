/* resid.c - empirical entropy of residual symbols (resid.h). */
#include "common/resid.h"

#include <math.h>

double cgpc_resid_entropy_bits(const uint64_t *hist, int nsym)
{
    uint64_t total = 0;
    double sum = 0; /* sum of c log2 c over used symbols */
    for (int s = 0; s < nsym; s++)
        if (hist[s]) {
            total += hist[s];
            sum += (double)hist[s] * log2((double)hist[s]);
        }
    if (total == 0)
        return 0;
    double h = (double)total * log2((double)total) - sum;
    return h > 0 ? h : 0; /* one used symbol: exactly 0, never a rounding -0 */
}
