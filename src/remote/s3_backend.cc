// The S3 backend: cairn's remote objects stored under s3://bucket/prefix/<key>
// in any S3-compatible service (AWS, MinIO, Ceph, R2, moto). This file holds
// the object operations (get, ranged get, put with multipart uploads above
// 16 MiB, delete, paged listing, cleanup of interrupted uploads) and what an
// S3 error means for cairn (status code and hint). Below it: the HTTP layer
// with retries (s3_http.h), SigV4 signing (s3_signing.h), S3's XML
// (s3_xml.h); configuration is resolved in s3_config.h.
//
// Thread safety: every method may run on many threads at once.
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "cairn/sys/backend.h"
#include "remote/s3_config.h"
#include "remote/s3_http.h"
#include "remote/s3_signing.h"
#include "remote/s3_xml.h"

namespace cairn {
namespace {

constexpr uint64_t kMultipartThreshold = 16ull << 20;  // larger Puts go multipart
constexpr uint64_t kPartSize = 8ull << 20;
constexpr char kCredentialsHint[] =
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile in ~/.aws/credentials";

class S3Backend : public Backend {
 public:
  explicit S3Backend(const S3Config& c)
      : bucket_(c.bucket),
        prefix_(c.prefix),
        endpoint_(c.endpoint),
        http_(S3Endpoint{DescribeUrl(c.bucket, c.prefix), c.endpoint, c.bucket, c.path_style,
                         c.ca_bundle},
              S3Signer(c.region, c.access_key, c.secret_key, c.session_token), &stats_) {}

  std::string Describe() const override { return DescribeUrl(bucket_, prefix_); }

  Status Check() override {
    S3Request req{"GET",
                  "",
                  CanonicalQuery({{"list-type", "2"}, {"max-keys", "1"}, {"prefix", Root()}}),
                  {},
                  "list"};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    if (resp.status == 200) return Status::OK();
    S3Error err = ParseS3Error(resp.body);
    if (err.code == "NoSuchBucket" || (resp.status == 404 && err.code.empty())) {
      return Status::NotFound(
          Describe() + ": bucket " + bucket_ + " does not exist at " + endpoint_,
          "create it (aws s3 mb s3://" + bucket_ + ") or fix the remote URL / --endpoint-url");
    }
    if (resp.status == 403) {
      return Status::IOError(
          Describe() + ": the credentials were refused: " + std::to_string(resp.status) + " " +
              err.code + (err.message.empty() ? "" : " (" + err.message + ")"),
          kCredentialsHint);
    }
    return HttpError(req, resp);
  }

  Result<std::string> Get(const std::string& key) override {
    S3Request req{"GET", ObjectKey(key), "", {}, "GET " + key};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    if (resp.status != 200) return HttpError(req, resp);
    return std::move(resp.body);
  }

  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override {
    if (length == 0) return EmptyRange(key, offset);
    std::string range = std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    S3Request req{"GET", ObjectKey(key), "", {}, "GET " + key + " bytes " + range};
    req.headers.push_back("Range: bytes=" + range);
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    if (resp.status == 200 && resp.body.size() >= offset + length) {  // server ignored Range
      return resp.body.substr(offset, length);
    }
    if (resp.status == 206 && resp.body.size() == length) return std::move(resp.body);
    if (resp.status == 206 || resp.status == 200 || resp.status == 416) {
      return Status::Corruption(Describe() + ": " + key + " is shorter than " +
                                std::to_string(offset + length) + " bytes (read bytes " + range +
                                ")");
    }
    return HttpError(req, resp);
  }

  Status Put(const std::string& key, std::string_view data) override {
    if (data.size() > kMultipartThreshold) return PutMultipart(key, data);
    S3Request req{"PUT", ObjectKey(key), "", data, "PUT " + key};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    return resp.status == 200 ? Status::OK() : HttpError(req, resp);
  }

  Status Delete(const std::string& key) override {
    S3Request req{"DELETE", ObjectKey(key), "", {}, "DELETE " + key};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    if (resp.status == 200 || resp.status == 204) return Status::OK();
    if (resp.status == 404 && ParseS3Error(resp.body).code != "NoSuchBucket") return Status::OK();
    return HttpError(req, resp);
  }

  Result<std::vector<RemoteObject>> List(const std::string& prefix) override {
    std::vector<RemoteObject> out;
    std::string root = Root();
    std::string token;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> params = {{"list-type", "2"},
                                                                 {"prefix", root + prefix}};
      if (!token.empty()) params.emplace_back("continuation-token", token);
      S3Request req{"GET", "", CanonicalQuery(std::move(params)), {}, "list " + prefix};
      CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
      if (resp.status != 200) return HttpError(req, resp);
      XmlDoc doc(resp.body);
      if (!IsElement(doc.root(), "ListBucketResult")) {
        return Status::Corruption(Describe() + ": list " + prefix +
                                  ": unexpected response: " + resp.body.substr(0, 200));
      }
      for (const xmlNode* n = doc.root()->children; n; n = n->next) {
        if (!IsElement(n, "Contents")) continue;
        std::string key = ChildText(n, "Key");
        if (key.compare(0, root.size(), root) != 0) continue;
        out.push_back({key.substr(root.size()), strtoull(ChildText(n, "Size").c_str(), nullptr, 10),
                       ParseIso8601(ChildText(n, "LastModified"))});
      }
      token = ChildText(doc.root(), "NextContinuationToken");
      if (ChildText(doc.root(), "IsTruncated") != "true" || token.empty()) break;
    }
    std::sort(out.begin(), out.end(),
              [](const RemoteObject& a, const RemoteObject& b) { return a.key < b.key; });
    return out;
  }

  // Aborts the unfinished multipart uploads under the prefix that were
  // initiated before `cutoff`, page by page (the markers are positions in
  // the listing, so aborting the uploads already seen does not shift it).
  // An upload without a readable Initiated time is spared.
  Result<uint64_t> RemoveStale(int64_t cutoff) override {
    std::string root = Root();
    std::string key_marker, upload_id_marker;
    uint64_t removed = 0;
    for (;;) {
      std::vector<std::pair<std::string, std::string>> params = {{"prefix", root}, {"uploads", ""}};
      if (!key_marker.empty()) params.emplace_back("key-marker", key_marker);
      if (!upload_id_marker.empty()) params.emplace_back("upload-id-marker", upload_id_marker);
      S3Request req{"GET", "", CanonicalQuery(std::move(params)), {}, "list unfinished uploads"};
      CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
      if (resp.status != 200) return HttpError(req, resp);
      XmlDoc doc(resp.body);
      if (!IsElement(doc.root(), "ListMultipartUploadsResult")) {
        return Status::Corruption(Describe() + ": " + req.what +
                                  ": unexpected response: " + resp.body.substr(0, 200));
      }
      for (const xmlNode* n = doc.root()->children; n; n = n->next) {
        if (!IsElement(n, "Upload")) continue;
        std::string key = ChildText(n, "Key");
        std::string upload_id = ChildText(n, "UploadId");
        if (key.compare(0, root.size(), root) != 0 || upload_id.empty()) continue;
        int64_t initiated = ParseIso8601(ChildText(n, "Initiated"));
        if (initiated == 0 || initiated >= cutoff) continue;
        S3Request abort{"DELETE",
                        key,
                        CanonicalQuery({{"uploadId", upload_id}}),
                        {},
                        "abort upload " + key.substr(root.size())};
        CAIRN_ASSIGN_OR_RETURN(S3Response aborted, Perform(abort));
        if (aborted.status == 200 || aborted.status == 204) {
          ++removed;
        } else if (ParseS3Error(aborted.body).code != "NoSuchUpload") {  // else finished meanwhile
          return HttpError(abort, aborted);
        }
      }
      std::string next_key = ChildText(doc.root(), "NextKeyMarker");
      std::string next_id = ChildText(doc.root(), "NextUploadIdMarker");
      if (ChildText(doc.root(), "IsTruncated") != "true" || next_key.empty() ||
          (next_key == key_marker && next_id == upload_id_marker)) {  // no progress: stop
        break;
      }
      key_marker = std::move(next_key);
      upload_id_marker = std::move(next_id);
    }
    return removed;
  }

 private:
  // "prefix/" (or "") : what every object key starts with.
  std::string Root() const { return prefix_.empty() ? "" : prefix_ + "/"; }
  std::string ObjectKey(const std::string& key) const { return Root() + key; }

  // A zero-length range: only whether the object exists and is long enough.
  Result<std::string> EmptyRange(const std::string& key, uint64_t offset) {
    S3Request req{"HEAD", ObjectKey(key), "", {}, "HEAD " + key};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    if (resp.status != 200) return HttpError(req, resp);
    if (resp.content_length < offset) {
      return Status::Corruption(Describe() + ": " + key + " is shorter than " +
                                std::to_string(offset) + " bytes");
    }
    return std::string();
  }

  // The Status for an unexpected HTTP response:
  // "s3://b/p: PUT packs/x.pack failed: 403 SignatureDoesNotMatch (…)".
  Status HttpError(const S3Request& req, const S3Response& resp) const {
    S3Error err = ParseS3Error(resp.body);
    std::string msg = Describe() + ": " + req.what + " failed: " + std::to_string(resp.status);
    if (!err.code.empty()) msg += " " + err.code;
    if (!err.message.empty()) msg += " (" + err.message + ")";
    if (err.code.empty() && !resp.body.empty()) msg += ": " + resp.body.substr(0, 200);  // a proxy?
    if (err.code == "NoSuchBucket") {
      return Status::NotFound(msg, "create the bucket or fix the remote URL");
    }
    if (resp.status == 404) return Status::NotFound(msg);
    std::string hint;
    if (resp.status == 403) {
      hint = kCredentialsHint;
      if (err.code == "AccessDenied") hint += ", and that they may use bucket " + bucket_;
    } else if (err.code == "AuthorizationHeaderMalformed" || err.code == "PermanentRedirect" ||
               resp.status == 301) {
      hint = "the bucket is in another region: set --region or AWS_REGION";
    } else if (err.code == "ExpiredToken" || err.code == "InvalidToken") {
      hint = "refresh the session credentials (AWS_SESSION_TOKEN)";
    } else if (err.code == "RequestTimeTooSkewed") {
      hint = "the system clock is wrong";
    }
    return Status::IOError(msg, hint);
  }

  Status PutMultipart(const std::string& key, std::string_view data) {
    S3Request init{
        "POST", ObjectKey(key), CanonicalQuery({{"uploads", ""}}), {}, "PUT " + key + " (start)"};
    CAIRN_ASSIGN_OR_RETURN(S3Response started, Perform(init));
    if (started.status != 200) return HttpError(init, started);
    XmlDoc doc(started.body);
    std::string upload_id = ChildText(doc.root(), "UploadId");
    if (upload_id.empty()) {
      return Status::Corruption(Describe() + ": PUT " + key + ": no UploadId in the response");
    }
    Status s = UploadParts(key, data, upload_id);
    if (!s.ok()) {  // best effort; a leftover upload only costs storage until a lifecycle rule
      S3Request abort{"DELETE",
                      ObjectKey(key),
                      CanonicalQuery({{"uploadId", upload_id}}),
                      {},
                      "PUT " + key + " (abort)"};
      (void)Perform(abort);
    }
    return s;
  }

  Status UploadParts(const std::string& key, std::string_view data, const std::string& upload_id) {
    std::string complete = "<CompleteMultipartUpload>";
    int part = 0;
    for (uint64_t off = 0; off < data.size(); off += kPartSize) {
      ++part;
      S3Request req{"PUT", ObjectKey(key),
                    CanonicalQuery({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}),
                    data.substr(off, kPartSize),
                    "PUT " + key + " (part " + std::to_string(part) + ")"};
      CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
      if (resp.status != 200) return HttpError(req, resp);
      if (resp.etag.empty()) {
        return Status::Corruption(Describe() + ": " + req.what + ": no ETag in the response");
      }
      complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                  XmlEscape(resp.etag) + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    S3Request req{"POST", ObjectKey(key), CanonicalQuery({{"uploadId", upload_id}}), complete,
                  "PUT " + key + " (complete)"};
    CAIRN_ASSIGN_OR_RETURN(S3Response resp, Perform(req));
    // S3 may report a failed completion as 200 with an <Error> body.
    if (resp.status != 200 || !ParseS3Error(resp.body).code.empty()) return HttpError(req, resp);
    return Status::OK();
  }

  static std::string DescribeUrl(const std::string& bucket, const std::string& prefix) {
    return "s3://" + bucket + (prefix.empty() ? "" : "/" + prefix);
  }
  Result<S3Response> Perform(const S3Request& req) { return http_.Perform(req); }

  const std::string bucket_;
  const std::string prefix_;    // without leading or trailing '/'
  const std::string endpoint_;  // for messages
  S3HttpClient http_;
};

}  // namespace

Result<std::unique_ptr<Backend>> OpenS3Backend(const RemoteSpec& spec) {
  S3GlobalInit();
  CAIRN_ASSIGN_OR_RETURN(S3Config config, ResolveS3Config(spec));
  return std::unique_ptr<Backend>(new S3Backend(config));
}

}  // namespace cairn
