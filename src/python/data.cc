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

std::unique_ptr<Repo> OpenAt(const std::string& dir) { return Check(Repo::Open(dir)); }

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
        Json j;
        {
          py::gil_scoped_release release;
          auto r = OpenAt(repo);
          j = RowDiffJson(Check(DiffRowRefs(*r, from, to, RowOptions(key, columns, tolerance, limit, stat))));
        }
        return FromJson(j);
      },
      py::arg("repo"), py::arg("from_ref"), py::arg("to_ref"), py::arg("key"), py::arg("columns"),
      py::arg("tolerance"), py::arg("limit"), py::arg("stat"));
  m.def(
      "delta",
      [](const std::string& repo, const std::string& from, const std::string& to, const std::vector<std::string>& key,
         int64_t limit, bool stat, bool files_only) {
        Json j;
        {
          py::gil_scoped_release release;
          if (limit < 0) Raise(Status::InvalidArgument("limit must be 0 or more"));
          auto r = OpenAt(repo);
          DeltaOptions o;
          o.rows = RowOptions(key, {}, 0, limit, stat);
          o.row_level = !files_only;
          j = DeltaJson(Check(ComputeDelta(*r, from, to, o)));
        }
        return FromJson(j);
      },
      py::arg("repo"), py::arg("from_ref"), py::arg("to_ref"), py::arg("key"), py::arg("limit"), py::arg("stat"),
      py::arg("files_only"));
  m.def(
      "profile",
      [](const std::string& repo, const std::string& ref, const std::vector<std::string>& columns) {
        Json j;
        {
          py::gil_scoped_release release;
          auto r = OpenAt(repo);
          ProfileOptions o;
          o.columns = columns;
          j = ProfileReportJson(Check(ProfileRef(*r, ref, o)));
        }
        return FromJson(j);
      },
      py::arg("repo"), py::arg("ref"), py::arg("columns"));
  m.def(
      "validate",
      [](const std::string& repo, const std::string& ref, const std::string& suite_file, bool store) {
        Json j;
        {
          py::gil_scoped_release release;
          auto r = OpenAt(repo);
          Suite suite = Check(LoadSuite(suite_file));
          ValidationReport report = Check(Validate(*r, ref, suite));
          if (store) Check(StoreValidation(*r, &report));
          j = ValidationJson(report);
        }
        return FromJson(j);
      },
      py::arg("repo"), py::arg("ref"), py::arg("suite"), py::arg("store"));
  m.def(
      "drift",
      [](const std::string& repo, const std::string& reference, const std::string& current, const std::string& method,
         const std::vector<std::string>& columns, std::optional<double> threshold, double share) {
        Json j;
        {
          py::gil_scoped_release release;
          DriftOptions o;
          std::optional<DriftMethod> m = ParseDriftMethod(method);
          if (!m) {
            Raise(Status::InvalidArgument("unknown method '" + method + "'",
                                          "choose auto, ks, chi2, z, psi, wasserstein or jensenshannon"));
          }
          o.method = *m;
          o.columns = columns;
          o.threshold = threshold;
          o.share = share;
          auto r = OpenAt(repo);
          j = DriftJson(Check(Drift(*r, reference, current, o)));
        }
        return FromJson(j);
      },
      py::arg("repo"), py::arg("reference"), py::arg("current"), py::arg("method"), py::arg("columns"),
      py::arg("threshold"), py::arg("share"));
}

}  // namespace cairn::python
