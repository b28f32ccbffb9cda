/* summary.h - model-metrics over runs: mean, standard deviation and a 95 % interval per
 * experiment and threshold (CGP, rank-1 rows) or per re-quantization width (reference rows),
 * and the circuit chosen by validation.
 *
 * Choice by validation (issue #11 item 4): per experiment and threshold, among every measured
 * circuit (all runs, and with --top N all ranks), the one with the highest validation top-1;
 * ties go to the higher energy saving, then to the first measured (lower run, then rank). Its
 * test top-1 is the figure to report: the test split never takes part in the choice. A
 * reference group's choice is its one row.
 *
 * The 95 % interval of a mean over n runs is mean +- t(0.975, n - 1) x std / sqrt(n) with the
 * Student t quantile (n = 1: no interval, written as NaN). std is the sample standard deviation
 * (n - 1 divisor; 0 for n = 1).
 *
 * Ownership: struct exp_summary owns its groups (init by zeroing, exp_summary_free). */
#ifndef CGPC_EXP_SUMMARY_H
#define CGPC_EXP_SUMMARY_H

#include <stdint.h>
#include <stdio.h>

#include "exp/metrics.h"

enum { EXP_SUM_VAL_TOP1, EXP_SUM_TEST_TOP1, EXP_SUM_SAVING_PCT, EXP_SUM_STORED_BITS,
       EXP_SUM_COMPRESSION_INT8, EXP_SUM_INFERENCE_PJ, EXP_SUM_FIELDS };

struct exp_summary_group {
    char experiment[96], layers[96], method[48];
    int bits;                /* requant width; 0 for cgp */
    double threshold;        /* per weight (cgp); NaN for requant */
    double baseline_val, baseline_test;
    int n, reached;          /* runs, and how many reached the threshold */
    double sum[EXP_SUM_FIELDS], sumsq[EXP_SUM_FIELDS];
    /* the choice by validation: its run (-1 requant), rank, and its figures */
    int chosen_run, chosen_rank, candidates;
    double chosen_val, chosen_test, chosen_saving_pct;
    uint64_t chosen_stored_bits;
};

struct exp_summary {
    struct exp_summary_group *groups;
    int n, cap;
};

/* Add a row to its group, made on first use: rank-1 rows count in the statistics over runs,
 * every row is a candidate for the choice by validation. */
cgpc_status exp_summary_add(struct exp_summary *s, const struct exp_metrics_row *r,
                            struct cgpc_err *err);
void exp_summary_free(struct exp_summary *s);

struct exp_summary_stat {
    double mean, std, ci95; /* ci95: half-width of the 95 % interval of the mean */
};
struct exp_summary_stat exp_summary_stat(const struct exp_summary_group *g, int field);
/* Student t quantile t(0.975, dof) for dof >= 1 (table to 30, then 1.96 beyond 120). */
double exp_t975(int dof);

/* CSV, header first:
 * experiment,layers,method,bits,threshold,runs,reached,val_top1_mean,val_top1_std,
 * val_top1_ci95,test_top1_mean,test_top1_std,test_top1_ci95,saving_pct_mean,saving_pct_std,
 * stored_bits_mean,stored_bits_std,compression_vs_int8_mean,inference_pj_mean,
 * baseline_val_top1,baseline_test_top1,candidates,chosen_run,chosen_rank,chosen_val_top1,
 * chosen_test_top1,chosen_saving_pct,chosen_stored_bits (chosen_run empty for requant) */
cgpc_status exp_summary_write_csv(const struct exp_summary *s, FILE *out, struct cgpc_err *err);
/* The choice by validation of every CGP group as a text table (one line per experiment and
 * threshold: candidates, chosen run and rank, its validation and test top-1, saving, bits). */
cgpc_status exp_summary_write_chosen(const struct exp_summary *s, FILE *out,
                                     struct cgpc_err *err);

#endif
