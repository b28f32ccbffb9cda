/* targets.c - the fuzz entries (see targets.h). Each copies the input into a buffer of exactly
 * its size (so reads past the end are caught), calls a parser of the library and frees what
 * it built. */
#include "targets.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgp/cgp.h"
#include "common/fileio.h"
#include "energy/energy.h"
#include "exp/compare.h"
#include "exp/config.h"
#include "exp/lowbit_storage.h"
#include "exp/metrics.h"
#include "exp/resfile.h"
#include "exp/select.h"
#include "nn/dataset.h"
#include "nn/model.h"
#include "pbs/pbs.h"

/* ---- helpers ------------------------------------------------------------------------------ */

struct cgpc_err fuzz_err;

static unsigned char *copy_bytes(const uint8_t *data, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    if (b && size)
        memcpy(b, data, size);
    return b;
}

static char *copy_text(const uint8_t *data, size_t size)
{
    char *t = malloc(size + 1);
    if (t) {
        memcpy(t, data, size);
        t[size] = '\0';
    }
    return t;
}

/* One scratch directory per process (on /dev/shm when there is one), emptied per input. */
static char scratch[256];

static void scratch_clear(void)
{
    DIR *d = opendir(scratch);
    if (!d)
        return;
    struct dirent *e;
    char path[512];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", scratch, e->d_name);
            unlink(path);
        }
    closedir(d);
}

static void scratch_remove(void)
{
    scratch_clear();
    rmdir(scratch);
}

static const char *scratch_dir(void)
{
    if (!scratch[0]) {
        const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(scratch, sizeof scratch, "%s/cgpc-fuzz-XXXXXX", base);
        if (!mkdtemp(scratch)) {
            perror("fuzz: mkdtemp");
            abort();
        }
        atexit(scratch_remove);
    }
    scratch_clear();
    return scratch;
}

static int write_file(const char *dir, const char *name, const void *data, size_t size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return -1;
    size_t put = size ? fwrite(data, 1, size, fp) : 0;
    return fclose(fp) == 0 && put == size ? 0 : -1;
}

static int safe_name(const char *s, size_t n)
{
    if (n == 0 || n > 64 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Write the input's files into a fresh scratch directory: sections "=== NAME\n" + content
 * (up to the next section line); input without a first section line is one file named
 * `primary`. Then each default {name, text} not given. Returns the directory, or NULL for an
 * input that names a file it may not (skipped, not a finding). */
static const char *fuzz_write_dir(const uint8_t *data, size_t size, const char *primary,
                                  const char *const (*defaults)[2])
{
    const char *dir = scratch_dir();
    char given[16][72];
    int n_given = 0;
    const char *p = (const char *)data, *end = p + size;
    static const char mark[] = "=== ";
    if (size < 4 || memcmp(p, mark, 4) != 0) {
        if (write_file(dir, primary, data, size) != 0)
            return NULL;
        snprintf(given[n_given++], sizeof given[0], "%s", primary);
    } else {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *name = p + 4;
            size_t name_len = (size_t)((nl ? nl : end) - name);
            if (!safe_name(name, name_len) || n_given == 16)
                return NULL;
            const char *body = nl ? nl + 1 : end, *next = body;
            while (next < end && !((size_t)(end - next) >= 4 && memcmp(next, mark, 4) == 0)) {
                const char *q = memchr(next, '\n', (size_t)(end - next));
                next = q ? q + 1 : end;
            }
            snprintf(given[n_given], sizeof given[0], "%.*s", (int)name_len, name);
            if (write_file(dir, given[n_given++], body, (size_t)(next - body)) != 0)
                return NULL;
            p = next;
        }
    }
    for (int i = 0; defaults && defaults[i][0]; i++) {
        int have = 0;
        for (int k = 0; k < n_given; k++)
            have |= !strcmp(given[k], defaults[i][0]);
        if (!have && write_file(dir, defaults[i][0], defaults[i][1], strlen(defaults[i][1])))
            return NULL;
    }
    return dir;
}

/* ---- single-buffer parsers ---------------------------------------------------------------- */

static int fuzz_safetensors(const uint8_t *data, size_t size)
{
    struct nn_model m;
    if (nn_model_parse(copy_bytes(data, size), size, "fuzz.safetensors", &m, &fuzz_err) == CGPC_OK)
        nn_model_free(&m);
    return 0;
}

/* An images IDX file followed by a labels IDX file: the split is where the images header says
 * its payload ends (everything, if that is past the end). */
static int fuzz_idx(const uint8_t *data, size_t size)
{
    size_t img_len = size;
    if (size >= 16) {
        uint64_t want = 1;
        int overflow = 0;
        for (int i = 0; i < 3; i++) {
            const uint8_t *q = data + 4 + 4 * i;
            uint64_t d = ((uint64_t)q[0] << 24) | ((uint64_t)q[1] << 16) | ((uint64_t)q[2] << 8) | q[3];
            overflow |= __builtin_mul_overflow(want, d, &want);
        }
        if (!overflow && want <= size - 16)
            img_len = 16 + (size_t)want;
    }
    struct nn_dataset ds;
    if (nn_dataset_parse_idx(copy_bytes(data, img_len), img_len, "fuzz-images",
                             copy_bytes(data + img_len, size - img_len), size - img_len,
                             "fuzz-labels", &ds, &fuzz_err) == CGPC_OK)
        nn_dataset_free(&ds);
    return 0;
}

static int fuzz_cgp_data(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct cgp_dataset ds = {0};
    if (cgp_dataset_parse(&ds, text, "fuzz.txt", &fuzz_err) == CGPC_OK) {
        struct cgp_dataset slots = {0};
        int32_t *slot_of = malloc(((size_t)ds.n_outputs + 1) * sizeof *slot_of);
        if (slot_of && ds.n_inputs == 0 &&
            cgp_dataset_value_slots(&ds, &slots, slot_of, NULL) == CGPC_OK)
            cgp_dataset_free(&slots);
        free(slot_of);
    }
    cgp_dataset_free(&ds);
    free(text);
    return 0;
}

/* Parse a chromosome; a valid one is also described (`circuit show`) and evaluated on a small
 * data set of its shape (`circuit eval`). */
static int fuzz_chromosome(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct cgp_genome g = {0};
    if (cgp_genome_parse(&g, text, "fuzz.chr", &fuzz_err) == CGPC_OK &&
        cgp_genome_check(&g, &fuzz_err) == CGPC_OK) {
        struct energy_gate_table t;
        energy_gate_table_default(&t);
        FILE *null = fopen("/dev/null", "w");
        if (null) {
            cgp_genome_describe(&g, &t, null, NULL);
            fclose(null);
        }
        struct cgp_dataset ds = {0};
        int items = 3;
        if (g.shape.n_inputs <= 4096 && g.shape.n_outputs <= 4096 &&
            cgp_dataset_init(&ds, g.shape.n_inputs, g.shape.n_outputs, items, NULL) == CGPC_OK) {
            for (int i = 0; i < g.shape.n_inputs; i++)
                for (int d = 0; d < items; d++)
                    ds.in[(size_t)i * ds.stride + d] = (int8_t)(i * 37 + d * 101);
            int8_t *out = malloc((size_t)g.shape.n_outputs * items + 1);
            if (out)
                cgp_eval_reference(&g, &ds, out, &fuzz_err);
            free(out);
        }
        cgp_dataset_free(&ds);
    }
    cgp_genome_free(&g);
    free(text);
    return 0;
}

/* A residual-mode file: parsed, its circuit evaluated on a small data set of its shape and the
 * residual decoded from those predictions (the checksum usually fails: no crash is the test). */
static int fuzz_residual(const uint8_t *data, size_t size)
{
    struct exp_resid_file f;
    if (exp_resid_unpack(data, size, "fuzz.res", &f, &fuzz_err) != CGPC_OK)
        return 0;
    const struct cgp_shape *s = &f.circuit.shape;
    struct cgp_dataset ds = {0};
    int items = 3;
    if (s->n_inputs <= 4096 && s->n_outputs <= 4096 && f.weights <= (uint64_t)s->n_outputs * items &&
        cgp_dataset_init(&ds, s->n_inputs, s->n_outputs, items, NULL) == CGPC_OK) {
        for (int i = 0; i < s->n_inputs; i++)
            for (int d = 0; d < items; d++)
                ds.in[(size_t)i * ds.stride + d] = (int8_t)(i * 37 + d * 101);
        int8_t *out = malloc((size_t)s->n_outputs * items + 1);
        int8_t *w = malloc((size_t)s->n_outputs * items + 1);
        if (out && w && cgp_eval_reference(&f.circuit, &ds, out, &fuzz_err) == CGPC_OK)
            exp_resid_rebuild(&f, out, w, &fuzz_err);
        free(out);
        free(w);
    }
    cgp_dataset_free(&ds);
    exp_resid_file_free(&f);
    return 0;
}

static int fuzz_gate_costs(const uint8_t *data, size_t size)
{
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    energy_gate_table_parse(&t, (const char *)data, size, "fuzz.csv", &fuzz_err);
    return 0;
}

static int fuzz_memory(const uint8_t *data, size_t size)
{
    struct energy_memory m;
    memset(&m, 0, sizeof m);
    energy_memory_parse(&m, (const char *)data, size, "fuzz.mem", &fuzz_err);
    return 0;
}

/* LeNet-5's weight tensors as the selectors see them. */
static const struct exp_tensor lenet_tensors[] = {
    {"conv1.weight", 6, 1, 5, 5},   {"conv2.weight", 16, 6, 5, 5}, {"fc1.weight", 120, 400, 1, 1},
    {"fc2.weight", 84, 120, 1, 1}, {"fc3.weight", 10, 84, 1, 1},
};

/* An experiment file, then its selectors against LeNet-5's tensors. */
static int fuzz_experiment(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct exp_config cfg;
    exp_config_defaults(&cfg);
    /* validated twice: error records may be NULL (callers that only want the status) */
    if (exp_config_parse(&cfg, text, "fuzz.exp", &fuzz_err) == CGPC_OK &&
        exp_config_validate(&cfg, NULL) == CGPC_OK &&
        exp_config_validate(&cfg, &fuzz_err) == CGPC_OK) {
        char in[EXP_VALUE_MAX * 2], out[EXP_VALUE_MAX * 2];
        int mode = exp_item_mode_from_name(exp_config_str(&cfg, "items"));
        struct exp_selection sel = {0};
        if (mode >= 0 && exp_config_selector(&cfg, "inputs", in, sizeof in, NULL) == CGPC_OK &&
            exp_config_selector(&cfg, "outputs", out, sizeof out, NULL) == CGPC_OK &&
            exp_select(lenet_tensors, 5, in, out, (enum exp_item_mode)mode, &sel, &fuzz_err) == CGPC_OK)
            exp_selection_free(&sel);
        double th[64];
        exp_config_doubles(&cfg, "thresholds", th, 64);
    }
    free(text);
    return 0;
}

static int fuzz_pbs_conf(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct pbs_job job;
    if (pbs_job_parse(&job, text, "fuzz/pbs.conf", &fuzz_err) == CGPC_OK) {
        char *out = NULL;
        static const char tmpl[] = "#PBS -N {{JOB_NAME}}\n#PBS -l walltime={{WALLTIME}}\n"
                                   "{{QUEUE_DIRECTIVE}}\n#PBS -J 0-{{LAST_BATCH}}\n"
                                   "{{CGPC}} {{JOB_DIR}} {{MEM}}{{SCRATCH_SELECT}}\n";
        if (pbs_template_render(tmpl, "fuzz.pbs", &job, "/job", &out, NULL) == CGPC_OK)
            free(out);
        for (int b = 0; b < job.batches && b < 64; b++) {
            int first, count;
            pbs_batch_runs(&job, b, &first, &count);
        }
    }
    free(text);
    return 0;
}

/* A batch state file; the first byte also picks whether the batch has a checkpoint. */
static int fuzz_pbs_state(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct pbs_job job;
    pbs_job_defaults(&job);
    struct pbs_batch_status st;
    memset(&st, 0, sizeof st);
    pbs_state_parse(text, "fuzz/state", &job, 1764547200, size && (data[0] & 1), &st, &fuzz_err);
    free(text);
    return 0;
}

/* A circuit token ("n3=add(i0,i1);out=n3,i2") on a 9-input, 16-output, 6-item data set, as
 * single_channel.exp's circuits. */
static int fuzz_circuit_token(const uint8_t *data, size_t size)
{
    char *text = copy_text(data, size);
    struct cgp_dataset ds = {0};
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    int items = 6;
    if (cgp_dataset_init(&ds, 9, 16, items, NULL) == CGPC_OK) {
        for (int i = 0; i < 9; i++)
            for (int d = 0; d < items; d++)
                ds.in[(size_t)i * ds.stride + d] = (int8_t)(i * 29 - d * 7);
        int8_t out[16 * 6];
        struct energy_circuit_cost cost;
        exp_circuit_token_eval(text, &ds, NULL, &t, out, &cost, &fuzz_err);
    }
    cgp_dataset_free(&ds);
    free(text);
    return 0;
}

/* A model file as every command loads it (nn_model_parse: low-bit and deep files decoded to
 * float) and as model-metrics --compare opens it (exp_compare_open: decoded, its stored parts
 * accounted); returns the file's path in the scratch directory, or NULL. */
static const char *fuzz_model_file(const uint8_t *data, size_t size)
{
    struct nn_model m;
    if (nn_model_parse(copy_bytes(data, size), size, "fuzz-model.safetensors", &m, &fuzz_err) ==
        CGPC_OK)
        nn_model_free(&m);
    static char path[512];
    snprintf(path, sizeof path, "%s/model.safetensors", scratch_dir());
    if (write_file(scratch, "model.safetensors", data, size) != 0)
        return NULL;
    struct exp_compare c;
    if (exp_compare_open(&c, path, &fuzz_err) == CGPC_OK)
        exp_compare_free(&c);
    return path;
}

/* A cgpc-lowbit model file: also read as the low-bit commands report it (lowbit_storage_file:
 * codes, scales, landmark tables, storage accounting). */
static int fuzz_lowbit(const uint8_t *data, size_t size)
{
    const char *path = fuzz_model_file(data, size);
    struct lowbit_storage st;
    int is_lowbit = 0;
    if (path && lowbit_storage_file(path, &st, &is_lowbit, &fuzz_err) == CGPC_OK && is_lowbit)
        lowbit_storage_free(&st);
    return 0;
}

/* A cgpc-deep (Deep Compression) model file: cpr_model_decode, cpr_file_stats. */
static int fuzz_deep(const uint8_t *data, size_t size)
{
    fuzz_model_file(data, size);
    return 0;
}

/* ---- directory parsers -------------------------------------------------------------------- */

/* Stop a resumed run after at most ~0.5 s of search (the first progress report): a corrupt
 * counter must not turn one input into an endless run. */
static volatile sig_atomic_t resume_stop;
static void stop_on_progress(void *user, const struct cgp_progress *p)
{
    (void)user;
    (void)p;
    resume_stop = 1;
}

/* config.txt and data.txt of a small evolve run, made once by a real run: the shape of
 * tests/test_cgp.c's stopped_run (3 inputs, 2 outputs, 5 items, 3x5 grid, 200 generations,
 * thresholds 1e9 and 0), so the raw checkpoints it saved in the corpus fit them. */
static char default_config[8192], default_data[8192];

static int make_run_defaults(void)
{
    if (default_config[0])
        return 0;
    const char *dir = scratch_dir();
    struct cgp_dataset ds = {0};
    static const char data[] = "cgpc-data v1\ninputs 3\noutputs 2\nitems 5\n"
                               "1 2 3 4 5\n-5 6 7 x 8\n9 -10 11 12 x\n0 0 0 1 1\n-128 127 5 6 7\n";
    struct cgp_params p;
    cgp_params_default(&p);
    p.rows = 3;
    p.cols = 5;
    p.generations = 200;
    p.n_thresholds = 2;
    p.thresholds[0] = 1e9;
    p.thresholds[1] = 0;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    if (cgp_dataset_parse(&ds, data, "fuzz-data", NULL) != CGPC_OK ||
        cgp_evolve_dir(&p, &ds, &t, dir, 0, NULL, NULL, NULL) != CGPC_OK) {
        fprintf(stderr, "fuzz: cannot make the default run directory\n");
        abort();
    }
    cgp_dataset_free(&ds);
    char path[512];
    unsigned char *text;
    size_t len;
    const char *names[] = {"config.txt", "data.txt"};
    char *dst[] = {default_config, default_data};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (cgpc_read_file(path, &text, &len, NULL) != CGPC_OK || len >= sizeof default_config)
            abort();
        memcpy(dst[i], text, len + 1);
        free(text);
    }
    return 0;
}

/* `evolve --resume` of a run directory: checkpoint (the primary file), statistics.<run>.csv.part
 * journals, config.txt, data.txt. */
static int fuzz_checkpoint(const uint8_t *data, size_t size)
{
    make_run_defaults();
    const char *const defaults[][2] = {
        {"config.txt", default_config}, {"data.txt", default_data}, {NULL, NULL}};
    const char *dir = fuzz_write_dir(data, size, "checkpoint", defaults);
    if (!dir)
        return 0;
    struct cgp_params p;
    cgp_params_default(&p);
    p.stop_after = 200;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    resume_stop = 0;
    struct cgp_callbacks cb = {stop_on_progress, NULL, &resume_stop};
    cgp_evolve_dir(&p, NULL, &t, dir, 1, &cb, NULL, &fuzz_err);
    return 0;
}

static int ignore_row(void *user, const struct exp_metrics_row *r)
{
    (void)user;
    (void)r;
    return 0;
}

/* `model-metrics` of a train directory: experiment.exp (the primary file; its model must be
 * the repository's LeNet-5, relative to the working directory), model.txt, results.csv,
 * best.*.chr, pareto.*.csv, slots.txt; measured on two blank images. */
static int fuzz_train_dir(const uint8_t *data, size_t size)
{
    static const char model[] = "models/lenet5-mnist-int8.safetensors";
    static char record[128];
    if (!record[0]) {
        uint64_t fp = 0;
        if (exp_file_fingerprint(model, &fp, NULL) != CGPC_OK) {
            fprintf(stderr, "fuzz: run from the repository root (%s not found)\n", model);
            abort();
        }
        snprintf(record, sizeof record, "cgpc-model-record 1\npath %s\nfnv1a64 %016llx\n", model,
                 (unsigned long long)fp);
    }
    const char *const defaults[][2] = {{"model.txt", record}, {NULL, NULL}};
    const char *dir = fuzz_write_dir(data, size, "experiment.exp", defaults);
    if (!dir)
        return 0;
    /* the model comes from the repository only: no other file is opened through it */
    char path[512];
    snprintf(path, sizeof path, "%s/experiment.exp", dir);
    struct exp_config cfg;
    exp_config_defaults(&cfg);
    if (exp_config_load(&cfg, path, NULL) != CGPC_OK || strcmp(exp_config_str(&cfg, "model"), model))
        return 0;
    struct exp_metrics_dir md;
    if (exp_metrics_open(&md, dir, &fuzz_err) != CGPC_OK)
        return 0;
    static uint8_t images[2 * 28 * 28], labels[2];
    struct nn_dataset ds = {0};
    ds.n = 2;
    ds.rows = ds.cols = 28;
    ds.images = images;
    ds.labels = labels;
    struct energy_gate_table t;
    energy_gate_table_default(&t);
    struct energy_memory mem = *energy_memory_builtin(0);
    struct exp_metrics_opts mo = {2, 2, 1, &t, &mem, STORAGE_DEPLOY_STORED, 1};
    exp_metrics_measure(&md, &ds, &ds, &mo, ignore_row, NULL, &fuzz_err);
    exp_metrics_close(&md);
    return 0;
}

const struct fuzz_target fuzz_targets[] = {
    {"safetensors", fuzz_safetensors, "nn_model_parse (nn_st_parse + model layout)"},
    {"idx", fuzz_idx, "nn_dataset_parse_idx (images + labels IDX)"},
    {"cgp_data", fuzz_cgp_data, "cgp_dataset_parse (cgpc-data v1), value slots"},
    {"chromosome", fuzz_chromosome, "cgp_genome_parse + check, describe, reference eval"},
    {"residual", fuzz_residual, "exp_resid_unpack (cgpc-residual file), circuit eval, rebuild"},
    {"gate_costs", fuzz_gate_costs, "energy_gate_table_parse"},
    {"memory", fuzz_memory, "energy_memory_parse"},
    {"experiment", fuzz_experiment, "exp_config_parse + validate, exp_select (selectors)"},
    {"pbs_conf", fuzz_pbs_conf, "pbs_job_parse, template render"},
    {"pbs_state", fuzz_pbs_state, "pbs_state_parse"},
    {"circuit_token", fuzz_circuit_token, "exp_circuit_token_eval"},
    {"checkpoint", fuzz_checkpoint, "evolve --resume: checkpoint, journal, config.txt, data.txt"},
    {"train_dir", fuzz_train_dir, "model-metrics: experiment.exp, model.txt, results, circuits"},
    {"lowbit", fuzz_lowbit, "cgpc-lowbit: nn_model_parse, exp_compare_open, lowbit_storage_file"},
    {"deep", fuzz_deep, "cgpc-deep: nn_model_parse, exp_compare_open (decode, cpr_file_stats)"},
    {NULL, NULL, NULL},
};

const struct fuzz_target *fuzz_target_find(const char *name)
{
    for (const struct fuzz_target *t = fuzz_targets; t->name; t++)
        if (!strcmp(t->name, name))
            return t;
    return NULL;
}
