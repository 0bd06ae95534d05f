// The check that a run record belongs to the ref that names it.
#include "cairn/run_record.h"

namespace cairn {

Result<RunInfo> DecodeRunRecordOf(std::string_view data, const std::string& id,
                                  std::optional<Oid>* metric_history) {
  CAIRN_ASSIGN_OR_RETURN(RunInfo run, DecodeRunRecord(data, "run " + id, metric_history));
  if (run.id != id) {
    return Status::Corruption("refs/runs/" + id + " names the record of another run (" + run.id + ")",
                              "remove refs/runs/" + id + " or point it at that run's own record; a record is "
                              "only ever named by its own run's ref");
  }
  return run;
}

}  // namespace cairn
