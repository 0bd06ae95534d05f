#include "data/duckdb_lib.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>
#include <optional>
#include <string>

#include "cairn/table.h"

namespace cairn::duckdb {
namespace {

constexpr const char* kInstallHint =
    "Parquet is read through DuckDB: install it with scripts/bootstrap (it fetches libduckdb.so from npm), or point "
    "CAIRN_DUCKDB_LIBRARY at a libduckdb.so";

template <typename F>
bool Bind(void* lib, const char* name, F* out, std::string* missing) {
  *out = reinterpret_cast<F>(dlsym(lib, name));
  if (!*out && missing->empty()) *missing = name;
  return *out != nullptr;
}

Result<const Api*> LoadOnce() {
  static Api api;
  const char* env = std::getenv("CAIRN_DUCKDB_LIBRARY");
  std::string path = env && *env ? env : "libduckdb.so";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    return Status::FailedPrecondition("cannot load the DuckDB library (" + path + "): " + (why ? why : "not found"),
                                      kInstallHint);
  }
  std::string missing;
  Bind(lib, "duckdb_library_version", &api.library_version, &missing);
  Bind(lib, "duckdb_open", &api.open, &missing);
  Bind(lib, "duckdb_close", &api.close, &missing);
  Bind(lib, "duckdb_connect", &api.connect, &missing);
  Bind(lib, "duckdb_disconnect", &api.disconnect, &missing);
  Bind(lib, "duckdb_query", &api.query, &missing);
  Bind(lib, "duckdb_destroy_result", &api.destroy_result, &missing);
  Bind(lib, "duckdb_result_error", &api.result_error, &missing);
  Bind(lib, "duckdb_column_count", &api.column_count, &missing);
  Bind(lib, "duckdb_column_name", &api.column_name, &missing);
  Bind(lib, "duckdb_column_type", &api.column_type, &missing);
  Bind(lib, "duckdb_prepare", &api.prepare, &missing);
  Bind(lib, "duckdb_prepare_error", &api.prepare_error, &missing);
  Bind(lib, "duckdb_destroy_prepare", &api.destroy_prepare, &missing);
  Bind(lib, "duckdb_pending_prepared_streaming", &api.pending_prepared_streaming, &missing);
  Bind(lib, "duckdb_pending_error", &api.pending_error, &missing);
  Bind(lib, "duckdb_destroy_pending", &api.destroy_pending, &missing);
  Bind(lib, "duckdb_execute_pending", &api.execute_pending, &missing);
  Bind(lib, "duckdb_fetch_chunk", &api.fetch_chunk, &missing);
  Bind(lib, "duckdb_destroy_data_chunk", &api.destroy_data_chunk, &missing);
  Bind(lib, "duckdb_data_chunk_get_size", &api.data_chunk_get_size, &missing);
  Bind(lib, "duckdb_data_chunk_get_vector", &api.data_chunk_get_vector, &missing);
  Bind(lib, "duckdb_vector_get_data", &api.vector_get_data, &missing);
  Bind(lib, "duckdb_vector_get_validity", &api.vector_get_validity, &missing);
  if (!missing.empty()) {
    return Status::FailedPrecondition(path + " lacks " + missing + ": it is not DuckDB 1.x", kInstallHint);
  }
  return &api;
}

}  // namespace

Result<const Api*> Load() {
  static std::once_flag once;
  static std::optional<Result<const Api*>> loaded;
  std::call_once(once, [] { loaded.emplace(LoadOnce()); });
  return *loaded;
}

}  // namespace cairn::duckdb

namespace cairn {

Status DuckDbAvailable() {
  auto api = duckdb::Load();
  return api.ok() ? Status::OK() : api.status();
}

}  // namespace cairn
