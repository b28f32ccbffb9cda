/* coords_residual.c - bench helper for issue 18 (coordinates + residual) until `cgpc train`
 * writes residual files itself: encode a train directory's circuit as a predictor with the
 * residual codec of src/exp/resfile.h (resid's file, decoded by `cgpc eval --residual`).
 * Built by `make build/release/bench/coords_residual`; run by bench/coords_pareto.sh.
 * Usage: coords_residual TRAIN_DIR CHR|zero BOUND OUT.res
 *   CHR: a chromosome of the directory's experiment; zero: the constant-zero circuit (plain
 *   entropy coding of the weights, the mode's baseline). Prints one line:
 *   "stored_bits S circuit_bits C residual_bits R entropy_bits H max_abs_error E". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgp/cgp.h"
#include "common/fileio.h"
#include "exp/config.h"
#include "exp/experiment.h"
#include "exp/resfile.h"

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: coords_residual TRAIN_DIR CHR|zero BOUND OUT.res\n");
        return 2;
    }
    char exp_path[4200];
    snprintf(exp_path, sizeof exp_path, "%s/experiment.exp", argv[1]);
    struct cgpc_err err = {0};
    struct exp_config cfg;
    struct exp_setup s;
    struct cgp_genome g;
    unsigned char *text = NULL;
    size_t len = 0;
    memset(&s, 0, sizeof s);
    memset(&g, 0, sizeof g);
    exp_config_defaults(&cfg);
    int rc = 1;
    if (exp_config_load(&cfg, exp_path, &err) != CGPC_OK ||
        exp_config_validate(&cfg, &err) != CGPC_OK || exp_setup_init(&s, &cfg, &err) != CGPC_OK ||
        cgpc_read_file(exp_path, &text, &len, &err) != CGPC_OK)
        goto out;
    char *exp_text = realloc(text, len + 1);
    if (!exp_text)
        goto out;
    text = (unsigned char *)exp_text;
    exp_text[len] = '\0';
    if (strcmp(argv[2], "zero") == 0 ? cgp_circuit_token_parse("n0=const0();out=n0", s.ds.n_inputs,
                                                                &g, &err) != CGPC_OK
                                     : cgp_genome_load(&g, argv[2], &err) != CGPC_OK)
        goto out;
    struct exp_resid_info info;
    if (exp_resid_encode(&s, &g, atoi(argv[3]), exp_text, argv[4], &info, &err) != CGPC_OK)
        goto out;
    printf("stored_bits %llu circuit_bits %llu residual_bits %llu entropy_bits %.1f "
           "max_abs_error %d\n", (unsigned long long)info.stored_bits,
           (unsigned long long)info.circuit_bits, (unsigned long long)info.code.bits,
           info.code.entropy_bits, info.code.max_abs_error);
    rc = 0;
out:
    if (rc)
        fprintf(stderr, "coords_residual: %s\n", err.msg);
    free(text);
    cgp_genome_free(&g);
    exp_setup_free(&s);
    return rc;
}
