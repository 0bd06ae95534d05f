// Remote storage backends: the small key/value interface every remote
// (a directory, an S3-compatible bucket, …) implements. The remote format
// (packs, indexes, refs; see doc/formats.md) is built on top of it in
// src/remote/ and never talks to a backend's wire protocol directly.
//
// Keys are '/'-separated relative names ("packs/ab12….pack", "refs/tags/x/v1").
// Every method may be called from many threads at once.
#ifndef CAIRN_SYS_BACKEND_H_
#define CAIRN_SYS_BACKEND_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cairn/status.h"

namespace cairn {

// One listed object.
struct RemoteObject {
  std::string key;    // relative to the remote's root
  uint64_t size = 0;
  int64_t mtime = 0;  // seconds since the epoch (last modified)
};

// Counters of what a backend did, for reports and benchmarks.
struct BackendStats {
  std::atomic<uint64_t> requests{0};        // wire requests (S3) or file operations (directory)
  std::atomic<uint64_t> bytes_sent{0};      // payload bytes written
  std::atomic<uint64_t> bytes_received{0};  // payload bytes read
  std::atomic<uint64_t> retries{0};         // requests repeated after a transient failure
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Where the remote is, for messages: "/srv/data", "s3://bucket/prefix".
  virtual std::string Describe() const = 0;

  // Checks that the remote can be reached and used (directory exists and is
  // writable / bucket exists and the credentials are accepted). Cheap: one
  // request. The error says what is wrong and what to do.
  virtual Status Check() = 0;
  // Like Check, before a first write: a directory remote is created (with
  // its parents) when missing; buckets are never created.
  virtual Status Prepare() { return Check(); }

  // The whole object. NotFound when there is no object under `key`.
  virtual Result<std::string> Get(const std::string& key) = 0;
  // `length` bytes starting at `offset`. NotFound when absent; Corruption
  // when the object is shorter than offset + length.
  virtual Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) = 0;
  // Stores `data` under `key`, replacing what was there. Readers see either
  // nothing (or the old object) or the whole new object, never a part.
  virtual Status Put(const std::string& key, std::string_view data) = 0;
  // Removes `key`; OK when it is already absent.
  virtual Status Delete(const std::string& key) = 0;
  // Every object whose key starts with `prefix`, sorted by key.
  virtual Result<std::vector<RemoteObject>> List(const std::string& prefix) = 0;

  // Removes what interrupted uploads left behind (a directory's temporary
  // files, S3's unfinished multipart uploads) that is older than `cutoff`
  // (seconds since the epoch), so uploads still in progress are spared.
  // Returns how many were removed; the default has nothing to remove.
  virtual Result<uint64_t> RemoveStale(int64_t cutoff) {
    (void)cutoff;
    return uint64_t{0};
  }

  BackendStats& stats() { return stats_; }

 protected:
  BackendStats stats_;
};

// How to reach a remote: what `cairn remote add` stores in .cairn/config
// (secrets only in .cairn/config.local, and only when asked).
struct RemoteSpec {
  std::string name;               // "origin"; empty for ad-hoc URLs (cairn get)
  std::string url;                // "/abs/path", "file:///abs/path", "s3://bucket[/prefix]"
  std::string endpoint_url;       // S3: "http://127.0.0.1:9000"; else $AWS_ENDPOINT_URL(_S3) or AWS
  std::string region;             // S3: else $AWS_REGION, $AWS_DEFAULT_REGION, profile, "us-east-1"
  std::string profile;            // S3: ~/.aws/credentials profile; else $AWS_PROFILE or "default"
  int path_style = -1;            // S3: 1 path-style, 0 virtual-hosted, -1 auto (path-style with a custom endpoint)
  std::string access_key_id;      // S3: else $AWS_ACCESS_KEY_ID or the profile
  std::string secret_access_key;  // S3: else $AWS_SECRET_ACCESS_KEY or the profile
  int jobs = 0;                   // parallel transfers; 0 picks a default
};

// Opens the backend a spec names. InvalidArgument for an unsupported or
// malformed URL; does not contact the remote (see Backend::Check).
Result<std::unique_ptr<Backend>> OpenBackend(const RemoteSpec& spec);

// The backends, for tests.
Result<std::unique_ptr<Backend>> OpenDirectoryBackend(const std::string& path);
Result<std::unique_ptr<Backend>> OpenS3Backend(const RemoteSpec& spec);

}  // namespace cairn

#endif  // CAIRN_SYS_BACKEND_H_
