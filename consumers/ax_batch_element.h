/*
 * ax_batch_element.h - one element of a partition's batch: from a decoded command (struct
 * ax_message) to the JSON object axiom_api.apply_partition_batch takes for it
 * (db/0008_applier.sql, element format in docs/sql-api.md), with the hashes it claims.
 * (Encoding a command's JSON line to Avro, the producer's side, is
 * common/contract/ax_codec_json.c.)
 *
 * Invariants:
 *  (1) the element is a pure function of the message, its event time and, for commands that
 *      create the next version of a lineage, the head it is given (and the change's content):
 *      the lineage's committed head, or none where its actor may not see it (ax_batch.h,
 *      invariant 8): so a replay of the log builds elements the database decides alike;
 *  (2) record_hash is computed here, in C (common/canon/ax_canon.c), and again by the database,
 *      which refuses a mismatch (docs/canonical-encoding.md);
 *  (3) a record_id the command leaves empty is derived from the command id (see
 *      ax_derive_record_id), never drawn at random.
 */
#ifndef AX_BATCH_ELEMENT_H
#define AX_BATCH_ELEMENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "ax_canon.h"
#include "ax_codec.h"
#include "ax_err.h"

/* A lineage's head (committed, or the one a command before it in the batch would leave)
 * and, for apply_change, the change's content. */
struct ax_head {
	bool found;
	uint8_t record_id[AX_UUID_LEN];
	int64_t version;
	uint8_t record_hash[AX_HASH_LEN];
	char record_type[72], facility_id[72], domain_id[72];
	bool change_found;
	char *change_title; /* owned by the caller of ax_batch_element_complete */
	uint8_t *change_content;
	size_t change_content_len;
};

/* What a version-creating command needs to know before its hash can be computed. */
struct ax_head_need {
	bool needed;    /* new_version and apply_change */
	bool is_change; /* apply_change: the change's content is needed too */
	uint8_t lineage[AX_UUID_LEN];
	uint8_t change_id[AX_UUID_LEN];
	int64_t base_version; /* new_version: the version the command says it edits */
	/* the head this command leaves if the database accepts it: set by ax_batch_element_build
	 * for create_record, by ax_batch_element_complete for new_version and apply_change */
	bool produces_valid;
	struct ax_head produces;
};

/*
 * Build the element of m (event time et_us, microseconds) into *out (owned by the caller).
 * need says whether the element must be completed with ax_batch_element_complete. AX_EINVAL
 * (err->msg precise) when the command cannot be expressed (for example a record_id that is
 * not a UUID): the caller quarantines it with ax_batch_element_quarantine_reason.
 */
int ax_batch_element_build(json_t **out, struct ax_head_need *need, const struct ax_message *m,
    int64_t et_us, struct ax_sha256 *sha, struct ax_err *err);

/*
 * Complete a new_version or apply_change element with previous_record_hash and record_hash
 * computed from head, and fill need->produces. A head that was not found (or a change that
 * was not found) leaves the hash out: the database then refuses the command as
 * not_found_or_denied.
 */
int ax_batch_element_complete(json_t *elem, struct ax_head_need *need, const struct ax_head *head,
    struct ax_sha256 *sha, struct ax_err *err);

/* Remove the keys ax_batch_element_build kept for ax_batch_element_complete ("_..."). */
void ax_batch_element_strip(json_t *elem);

#define AX_ISO_TIME_LEN 64

/* Write us (microseconds since the epoch) as ISO 8601 UTC text with microseconds. */
void ax_iso_time(char out[AX_ISO_TIME_LEN], int64_t us);

/* The stable reason code a message that could not be decoded or expressed is quarantined
 * with. */
const char *ax_batch_element_quarantine_reason(const struct ax_err *err);

/* The record_id derived from a command id: SHA-256("axiom/record-id/v1" || id)[0..16]. */
void ax_derive_record_id(
    uint8_t out[AX_UUID_LEN], const uint8_t command_id[AX_UUID_LEN], struct ax_sha256 *sha);

#endif
