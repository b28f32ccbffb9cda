/* journal.h - the statistics journal of a run (statistics.<run>.csv.gz): one CSV row per
 * improvement of the parent, whose circuit column stores the circuit only as far as it changed.
 *
 * Format v3 (docs/ARCHITECTURE.md, "Output directory"): line 1 "# cgpc-statistics v3", line 2
 * the header "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,
 * threshold_metric,error_metric,circuit" (threshold and error per weight in int8 units, as
 * experiment files give thresholds, issue #11; the metric's values in the _metric columns),
 * then rows whose circuit field is double-quoted (it holds commas), so that
 * pandas.read_csv(path, comment='#') reads it. The field holds either a full circuit token,
 * "n3=add(i0,i1);n7=neg(n3);out=n7,i1" (active nodes by index, then every output's source), or
 * a delta against the row above, "~n7=shl1(n3);-n5;o1=n7" (node 7 set, node 5 no longer active,
 * output 1 now reads n7; "~" alone: the same circuit). The writer stores whichever is shorter;
 * the first row of a file is always full. v2 (the same without the two _metric columns,
 * threshold and error in the metric's unit) and v1 (no magic line, unquoted full circuits on
 * every row) are still parsed by cgp_journal_read; a run directory's reader refuses them.
 *
 * Ownership: struct cgp_journal_enc is opaque (new/free); cgp_journal_read calls back with
 * circuit strings it owns, valid during the call. */
#ifndef CGPC_CGP_JOURNAL_H
#define CGPC_CGP_JOURNAL_H

#include <stdint.h>

#include "common/error.h"

#define CGP_JOURNAL_MAGIC "# cgpc-statistics v3"
#define CGP_JOURNAL_VERSION 3
#define CGP_JOURNAL_HEADER                                                                     \
    "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,"          \
    "threshold_metric,error_metric,circuit"
/* v1 and v2: the header without the _metric columns */
#define CGP_JOURNAL_HEADER_V2                                                                  \
    "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,circuit"
/* Fields before the circuit: 10 in v1 and v2, 12 in v3. */
#define CGP_JOURNAL_FIELDS(version) ((version) >= 3 ? 12 : 10)

struct cgp_journal_enc;

cgpc_status cgp_journal_enc_new(struct cgp_journal_enc **e, struct cgpc_err *err);
void cgp_journal_enc_free(struct cgp_journal_enc *e);
/* The circuit field (without quotes) for the next row, whose circuit is `token` (nodes in any
 * topological order, as cgp_evolver_circuit_string gives them): the full token with nodes by
 * index, or a delta; malloc'ed (the caller frees), NULL when out of memory. */
char *cgp_journal_enc_next(struct cgp_journal_enc *e, const char *token);
/* Continue a journal (resume): the next row's delta is taken against `circuit`, the full
 * circuit of the last row kept (as cgp_journal_read gives it). */
cgpc_status cgp_journal_enc_set(struct cgp_journal_enc *e, const char *circuit,
                                struct cgpc_err *err);

/* Every row of a journal (v1, v2 or v3) in file order: `fields` its fields before the circuit
 * (CGP_JOURNAL_FIELDS of its version: run .. depth, then in v3 the two _metric columns) and its full circuit token, as the evolver wrote it (its node
 * order). fn returns nonzero to stop early. Errors name `name` and the line. */
typedef int (*cgp_journal_row_fn)(void *user, const char *fields, int run, double threshold,
                                  int64_t generation, const char *circuit);
cgpc_status cgp_journal_read(const char *text, const char *name, cgp_journal_row_fn fn,
                             void *user, struct cgpc_err *err);
/* The format version of a journal's text (1 without a magic line), or -1 if it names none. */
int cgp_journal_version(const char *text);

#endif
