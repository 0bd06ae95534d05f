// The chain check behind VerifyAudit, over any bytes of log lines (the local
// log with its HEAD, or a remote's segments without one). Internal.
#ifndef CAIRN_AUDIT_AUDIT_VERIFY_H_
#define CAIRN_AUDIT_AUDIT_VERIFY_H_

#include <string_view>

#include "audit/audit_internal.h"
#include "cairn/audit.h"

namespace cairn::audit_internal {

// Adds what `data` holds (entries, signed entries, heads, problems, notes)
// to `report`. `head`: what HEAD records, or null (no HEAD checks). `keys`:
// the public keys for signed entries (null: every signed entry is reported).
void VerifyLines(std::string_view data, const Head* head, const KeyRing* keys, AuditVerifyReport* report);

}  // namespace cairn::audit_internal

#endif  // CAIRN_AUDIT_AUDIT_VERIFY_H_
