/*
 * ax_sign_reverify.h - offline re-verification of every stored e-signature (issue 6 item 6,
 * the building block of `axiom verify --signatures`), as axiom_auditor: from the raw proofs
 * in axiom.signatures, the nonce in axiom.signature_evidence and the factor registry as it
 * stood at each signature's signed_at, never the wall clock.
 *
 * Invariants: (1) read-only, on a connection the caller owns (an auditor login suffices:
 * SELECT on signatures, signature_evidence, signing_factors); (2) a signature counts as
 * verified only when ax_sign_verify accepts its proofs again, the verified factor types
 * equal the stored ones and the rebuilt intent hash equals the stored one; (3) signatures
 * recorded through the 0007 form (no nonce, no proofs v1) are counted as unverifiable, not
 * as verified. One query per signature for its registry context: fine offline, not a hot
 * path.
 */
#ifndef AX_SIGN_REVERIFY_H
#define AX_SIGN_REVERIFY_H

#include <libpq-fe.h>
#include <stddef.h>

#include "ax_err.h"

struct ax_sign_reverify_report {
	size_t checked;          /* signatures read */
	size_t verified;         /* re-verified as stored */
	size_t failed;           /* proofs, factor types or intent hash do not verify */
	size_t unverifiable;     /* stored without a nonce or proofs v1 */
	char first_problem[512]; /* "signature <id>: <reason>", "" when none */
};

/* Re-verify every signature readable through conn into *rep; AX_OK when the run completed
 * (whatever it found), AX_EUNAVAIL / AX_ERR when the database could not be read. */
int ax_sign_reverify(PGconn *conn, struct ax_sign_reverify_report *rep, struct ax_err *err);

#endif
