// _cairn's data functions: row diff, delta, profile, validation and drift
// over the library (cairn/row_diff.h, delta.h, profile.h, validate.h,
// drift.h). Each opens the repository at `repo`, works without the GIL and
// returns the CLI's --json shape as Python values (doc/json.md, "Data").
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>
#include <string>
#include <vector>

#include "cairn/delta.h"
#include "cairn/drift.h"
#include "cairn/profile.h"
#include "cairn/repo.h"
#include "cairn/row_diff.h"
#include "cairn/validate.h"
#include "python/convert.h"
#include "python/session.h"

namespace py = pybind11;

namespace cairn::python {
namespace {

// Opens the repository at `dir` and runs `f` on it without the GIL; its
// JSON as Python values.
template <typename F>
py::object InRepo(const std::string& dir, F f) {
  Json j;
  {
    py::gil_scoped_release release;
    std::unique_ptr<Repo> repo = Check(Repo::Open(dir));
    j = f(*repo);
  }
  return FromJson(j);
}

RowDiffOptions RowOptions(const std::vector<std::string>& key, const std::vector<std::string>& columns,
                          double tolerance, int64_t limit, bool stat) {
  RowDiffOptions o;
  o.key = key;
  o.columns = columns;
  o.tolerance = tolerance;
  o.limit = limit;
  o.stat = stat;
  return o;
}

}  // namespace

void BindData(py::module_& m) {
  m.def(
      "diff_rows",
      [](const std::string& repo, const std::string& from, const std::optional<std::string>& to,
         const std::vector<std::string>& key, const std::vector<std::string>& columns, double tolerance,
         int64_t limit, bool stat) {
        return InRepo(repo, [&](Repo& r) {
          return RowDiffJson(Check(DiffRowRefs(r, from, to, RowOptions(key, columns, tolerance, limit, stat))));
        });
      },
      py::arg("repo"), py::arg("from_ref"), py::arg("to_ref"), py::arg("key"), py::arg("columns"),
      py::arg("tolerance"), py::arg("limit"), py::arg("stat"));
  m.def(
      "delta",
      [](const std::string& repo, const std::string& from, const std::string& to, const std::vector<std::string>& key,
         int64_t limit, bool stat, bool files_only) {
        if (limit < 0) Raise(Status::InvalidArgument("limit must be 0 or more"));
        return InRepo(repo, [&](Repo& r) {
          DeltaOptions o;
          o.rows = RowOptions(key, {}, 0, limit, stat);
          o.row_level = !files_only;
          return DeltaJson(Check(ComputeDelta(r, from, to, o)));
        });
      },
      py::arg("repo"), py::arg("from_ref"), py::arg("to_ref"), py::arg("key"), py::arg("limit"), py::arg("stat"),
      py::arg("files_only"));
  m.def(
      "profile",
      [](const std::string& repo, const std::string& ref, const std::vector<std::string>& columns) {
        return InRepo(repo, [&](Repo& r) {
          ProfileOptions o;
          o.columns = columns;
          return ProfileReportJson(Check(ProfileRef(r, ref, o)));
        });
      },
      py::arg("repo"), py::arg("ref"), py::arg("columns"));
  m.def(
      "validate",
      [](const std::string& repo, const std::string& ref, const std::string& suite_file, bool store) {
        return InRepo(repo, [&](Repo& r) {
          Suite suite = Check(LoadSuite(suite_file));
          ValidationReport report = Check(Validate(r, ref, suite));
          if (store) Check(StoreValidation(r, &report));
          return ValidationJson(report);  // before `suite`, which the report points into, goes
        });
      },
      py::arg("repo"), py::arg("ref"), py::arg("suite"), py::arg("store"));
  m.def(
      "drift",
      [](const std::string& repo, const std::string& reference, const std::string& current, const std::string& method,
         const std::vector<std::string>& columns, std::optional<double> threshold, double share) {
        std::optional<DriftMethod> m = ParseDriftMethod(method);
        if (!m) {
          Raise(Status::InvalidArgument("unknown method '" + method + "'",
                                        "choose auto, ks, chi2, z, psi, wasserstein or jensenshannon"));
        }
        return InRepo(repo, [&](Repo& r) {
          DriftOptions o;
          o.method = *m;
          o.columns = columns;
          o.threshold = threshold;
          o.share = share;
          return DriftJson(Check(Drift(r, reference, current, o)));
        });
      },
      py::arg("repo"), py::arg("reference"), py::arg("current"), py::arg("method"), py::arg("columns"),
      py::arg("threshold"), py::arg("share"));
}

}  // namespace cairn::python
