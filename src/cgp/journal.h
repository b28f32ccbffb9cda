/* journal.h - the statistics journal of a run (statistics.<run>.csv.gz): one CSV row per
 * improvement of the parent, whose circuit column stores the circuit only as far as it changed.
 *
 * Format v2 (docs/ARCHITECTURE.md, "Output directory"): line 1 "# cgpc-statistics v2", line 2
 * the header "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,
 * circuit", then rows whose circuit field is double-quoted (it holds commas), so that
 * pandas.read_csv(path, comment='#') reads it. The field holds either a full circuit token,
 * "n3=add(i0,i1);n7=neg(n3);out=n7,i1" (active nodes by index, then every output's source), or
 * a delta against the row above, "~n7=shl1(n3);-n5;o1=n7" (node 7 set, node 5 no longer active,
 * output 1 now reads n7; "~" alone: the same circuit). The writer stores whichever is shorter;
 * the first row of a file is always full. v1 (no magic line, unquoted full circuits on every
 * row) is still read.
 *
 * Ownership: struct cgp_journal_enc is opaque (new/free); cgp_journal_read calls back with
 * circuit strings it owns, valid during the call. */
#ifndef CGPC_CGP_JOURNAL_H
#define CGPC_CGP_JOURNAL_H

#include <stdint.h>

#include "common/error.h"

#define CGP_JOURNAL_MAGIC "# cgpc-statistics v2"
#define CGP_JOURNAL_HEADER                                                                     \
    "run,threshold,generation,seconds,error,energy_pj,delay_ns,area_um2,gates,depth,circuit"

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

/* Every row of a journal (v1 or v2) in file order: `fields` its first 10 fields (run ..
 * depth, comma-separated) and its full circuit token, as the evolver wrote it (its node
 * order). fn returns nonzero to stop early. Errors name `name` and the line. */
typedef int (*cgp_journal_row_fn)(void *user, const char *fields, int run, double threshold,
                                  int64_t generation, const char *circuit);
cgpc_status cgp_journal_read(const char *text, const char *name, cgp_journal_row_fn fn,
                             void *user, struct cgpc_err *err);

#endif
