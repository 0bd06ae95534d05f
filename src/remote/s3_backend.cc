// S3-compatible backend: objects live under s3://bucket/prefix/<key> and are
// moved with libcurl, signed with libcurl's built-in AWS SigV4.
//
// Configuration follows the AWS CLI: endpoint, region and credentials come
// from the RemoteSpec, else the AWS_* environment variables, else the
// ~/.aws/config and ~/.aws/credentials profile (see OpenS3Backend).
//
// Signing: libcurl 7.88 signs the request path and query exactly as written
// (it neither sorts nor re-encodes them), so every URL built here is already
// canonical: keys percent-encoded per S3 rules, query parameters sorted and
// written "name=value". It signs host, content-type and the x-amz-* headers.
// The payload hash always travels in x-amz-content-sha256; S3 (and moto)
// reject a signature without it.
//
// Thread safety: every method may run on many threads at once. Each thread
// owns one CURL easy handle, reused across requests for keep-alive.
#include <curl/curl.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdlib.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <thread>
#include <utility>

#include "cairn/sys/backend.h"
#include "util/sha256.h"

namespace cairn {
namespace {

constexpr uint64_t kMultipartThreshold = 16ull << 20;  // larger Puts go multipart
constexpr uint64_t kPartSize = 8ull << 20;
constexpr int kMaxAttempts = 5;  // backoff 100, 200, 400, 800 ms (with jitter) in between
constexpr char kCredentialsHint[] =
    "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the profile in ~/.aws/credentials";

// ---------------------------------------------------------------------------
// Environment and the ~/.aws files.

std::string Env(const char* name) {
  const char* v = ::getenv(name);
  return v ? v : "";
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws));
  s.erase(s.find_last_not_of(ws) + 1);
  return s;
}

// section -> key -> value; an unreadable file is empty.
using Ini = std::map<std::string, std::map<std::string, std::string>>;

Ini ReadIni(const std::string& path) {
  Ini ini;
  std::ifstream in(path);
  std::string line, section;
  while (std::getline(in, line)) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = Trim(line.substr(1, line.size() - 2));
    } else if (size_t eq = line.find('='); eq != std::string::npos) {
      ini[section][Trim(line.substr(0, eq))] = Trim(line.substr(eq + 1));
    }
  }
  return ini;
}

// $`env_var`, else $HOME/.aws/`name`.
std::string AwsFilePath(const char* env_var, const char* name) {
  std::string path = Env(env_var);
  if (path.empty() && !Env("HOME").empty()) path = Env("HOME") + "/.aws/" + name;
  return path;
}

// The profile's settings in ~/.aws/config: "[default]" or "[profile NAME]".
std::map<std::string, std::string> ConfigProfile(const std::string& profile) {
  Ini ini = ReadIni(AwsFilePath("AWS_CONFIG_FILE", "config"));
  if (profile != "default" && ini.count("profile " + profile)) return ini["profile " + profile];
  return ini[profile];
}

// ---------------------------------------------------------------------------
// Encoding, hashing, dates.

// Percent-encodes all but the unreserved characters (and '/' when asked),
// upper-case hex: the form SigV4 signs.
std::string UriEncode(std::string_view s, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A canonical query string: parameters sorted, each "name=value".
std::string Query(std::vector<std::pair<std::string, std::string>> params) {
  std::sort(params.begin(), params.end());
  std::string q;
  for (const auto& [name, value] : params) {
    if (!q.empty()) q += '&';
    q += UriEncode(name, false) + "=" + UriEncode(value, false);
  }
  return q;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 hasher;
  hasher.Update(data);
  return hasher.Finish().Hex();
}

// "2024-05-01T12:34:56.000Z" -> seconds since the epoch; 0 when malformed.
int64_t ParseIso8601(const std::string& text) {
  struct tm tm = {};
  if (sscanf(text.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec) != 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

// ETags are quoted hex, but escape anyway: they go into an XML body.
std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s)
    out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : std::string(1, c);
  return out;
}

// ---------------------------------------------------------------------------
// XML responses (libxml2), read by local element name, ignoring namespaces.

class XmlDoc {
 public:
  explicit XmlDoc(const std::string& text)
      : doc_(text.empty()
                 ? nullptr
                 : xmlReadMemory(text.data(), static_cast<int>(text.size()), "s3.xml", nullptr,
                                 XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING)) {}
  ~XmlDoc() { xmlFreeDoc(doc_); }
  XmlDoc(const XmlDoc&) = delete;
  XmlDoc& operator=(const XmlDoc&) = delete;

  // nullptr when the text is not XML.
  const xmlNode* root() const { return doc_ ? xmlDocGetRootElement(doc_) : nullptr; }

 private:
  xmlDocPtr doc_;
};

bool IsElement(const xmlNode* n, const char* name) {
  return n && n->type == XML_ELEMENT_NODE &&
         strcmp(reinterpret_cast<const char*>(n->name), name) == 0;
}

const xmlNode* Child(const xmlNode* parent, const char* name) {
  for (const xmlNode* n = parent ? parent->children : nullptr; n; n = n->next) {
    if (IsElement(n, name)) return n;
  }
  return nullptr;
}

std::string Text(const xmlNode* n) {
  if (!n) return "";
  xmlChar* s = xmlNodeGetContent(n);
  std::string out = s ? reinterpret_cast<const char*>(s) : "";
  xmlFree(s);
  return out;
}

std::string ChildText(const xmlNode* parent, const char* name) { return Text(Child(parent, name)); }

// The <Error><Code>…</Code><Message>…</Message></Error> body S3 sends with failures.
struct S3Error {
  std::string code;
  std::string message;
};

S3Error ParseError(const std::string& body) {
  XmlDoc doc(body);
  if (!IsElement(doc.root(), "Error")) return {};
  return {ChildText(doc.root(), "Code"), ChildText(doc.root(), "Message")};
}

// ---------------------------------------------------------------------------
// libcurl plumbing.

// Once per process, before any request: neither library may initialize
// itself concurrently.
void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    xmlInitParser();
  });
}

// The calling thread's handle, in its reset state (Attempt resets it after
// use). It lives until the thread exits, keeping its connections open.
CURL* ThreadHandle() {
  struct Handle {
    CURL* curl = curl_easy_init();
    ~Handle() { curl_easy_cleanup(curl); }
  };
  thread_local Handle handle;
  return handle.curl;
}

struct Response {
  long status = 0;  // HTTP status; 0 when the transport failed
  std::string body;
  std::string etag;
  uint64_t content_length = 0;
  CURLcode curl = CURLE_OK;
  std::string curl_error;
};

size_t WriteBody(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  if (resp->body.empty()) resp->body.reserve(std::min<uint64_t>(resp->content_length, 1ull << 30));
  resp->body.append(data, size * n);
  return size * n;
}

size_t HeaderLine(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<Response*>(user);
  std::string line(data, size * n);
  size_t colon = line.find(':');
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (e.g. after "100 Continue")
    resp->etag.clear();
    resp->content_length = 0;
  }
  if (colon == std::string::npos) return size * n;
  std::string name = line.substr(0, colon);
  std::transform(name.begin(), name.end(), name.begin(), ::tolower);
  std::string value = Trim(line.substr(colon + 1));
  if (name == "etag") resp->etag = value;
  if (name == "content-length") resp->content_length = strtoull(value.c_str(), nullptr, 10);
  return size * n;
}

bool TransientTransportError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

bool TransientHttpError(const Response& r) {
  if (r.status == 429 || r.status == 500 || r.status == 502 || r.status == 503 || r.status == 504) {
    return true;
  }
  if (r.status < 400) return false;
  std::string code = ParseError(r.body).code;
  return code == "SlowDown" || code == "RequestTimeout" || code == "InternalError";
}

// One S3 request. `object_key` is the full key in the bucket ("" for the
// bucket itself); `query` a canonical query string (see Query).
struct Request {
  const char* method;
  std::string object_key;
  std::string query;
  std::string_view body;
  std::string what;  // for messages: "GET packs/x.pack"
  std::vector<std::string> headers;
};

// ---------------------------------------------------------------------------

class S3Backend : public Backend {
 public:
  S3Backend(std::string bucket, std::string prefix, std::string endpoint, bool path_style,
            std::string region, std::string access_key, std::string secret_key,
            std::string session_token)
      : bucket_(std::move(bucket)),
        prefix_(std::move(prefix)),
        endpoint_(std::move(endpoint)),
        region_(std::move(region)),
        userpwd_(access_key + ":" + secret_key),
        session_token_(std::move(session_token)),
        path_style_(path_style) {
    size_t scheme_end = endpoint_.find("://") + 3;
    base_url_ =
        path_style ? endpoint_ + "/" + bucket_
                   : endpoint_.substr(0, scheme_end) + bucket_ + "." + endpoint_.substr(scheme_end);
  }

  std::string Describe() const override {
    return "s3://" + bucket_ + (prefix_.empty() ? "" : "/" + prefix_);
  }

  Status Check() override {
    Request req{
        "GET", "", Query({{"list-type", "2"}, {"max-keys", "1"}, {"prefix", Root()}}), {}, "list"};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    if (resp.status == 200) return Status::OK();
    S3Error err = ParseError(resp.body);
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
    Request req{"GET", ObjectKey(key), "", {}, "GET " + key};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    if (resp.status != 200) return HttpError(req, resp);
    return std::move(resp.body);
  }

  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) override {
    if (length == 0) return EmptyRange(key, offset);
    std::string range = std::to_string(offset) + "-" + std::to_string(offset + length - 1);
    Request req{"GET", ObjectKey(key), "", {}, "GET " + key + " bytes " + range};
    req.headers.push_back("Range: bytes=" + range);
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
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
    Request req{"PUT", ObjectKey(key), "", data, "PUT " + key};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    return resp.status == 200 ? Status::OK() : HttpError(req, resp);
  }

  Status Delete(const std::string& key) override {
    Request req{"DELETE", ObjectKey(key), "", {}, "DELETE " + key};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    if (resp.status == 200 || resp.status == 204) return Status::OK();
    if (resp.status == 404 && ParseError(resp.body).code != "NoSuchBucket") return Status::OK();
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
      Request req{"GET", "", Query(std::move(params)), {}, "list " + prefix};
      CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
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
      Request req{"GET", "", Query(std::move(params)), {}, "list unfinished uploads"};
      CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
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
        Request abort{"DELETE",
                      key,
                      Query({{"uploadId", upload_id}}),
                      {},
                      "abort upload " + key.substr(root.size())};
        CAIRN_ASSIGN_OR_RETURN(Response aborted, Perform(abort));
        if (aborted.status == 200 || aborted.status == 204) {
          ++removed;
        } else if (ParseError(aborted.body).code != "NoSuchUpload") {  // else finished meanwhile
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

  // The bucket itself is "endpoint/bucket" (path-style) or "https://bucket.host/".
  std::string Url(const Request& req) const {
    std::string url = base_url_;
    if (!path_style_ || !req.object_key.empty()) url += "/" + UriEncode(req.object_key, true);
    if (!req.query.empty()) url += "?" + req.query;
    return url;
  }

  // A zero-length range: only whether the object exists and is long enough.
  Result<std::string> EmptyRange(const std::string& key, uint64_t offset) {
    Request req{"HEAD", ObjectKey(key), "", {}, "HEAD " + key};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    if (resp.status != 200) return HttpError(req, resp);
    if (resp.content_length < offset) {
      return Status::Corruption(Describe() + ": " + key + " is shorter than " +
                                std::to_string(offset) + " bytes");
    }
    return std::string();
  }

  // Sends `req`, retrying transient failures. The Response carries whatever
  // HTTP status came back last; IOError only when the server was never reached.
  Result<Response> Perform(const Request& req) {
    static thread_local std::mt19937 rng(std::random_device{}());
    Response resp;
    for (int attempt = 1;; ++attempt) {
      resp = Response();
      Attempt(req, &resp);
      bool transient =
          resp.curl != CURLE_OK ? TransientTransportError(resp.curl) : TransientHttpError(resp);
      if (!transient || attempt == kMaxAttempts) break;
      int base_ms = 100 << (attempt - 1);
      int delay_ms = base_ms / 2 + std::uniform_int_distribution<int>(0, base_ms / 2)(rng);
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      stats_.retries++;
    }
    if (resp.curl == CURLE_OK) return resp;
    bool unreachable =
        resp.curl == CURLE_COULDNT_CONNECT || resp.curl == CURLE_COULDNT_RESOLVE_HOST;
    return Status::IOError(Describe() + ": " + req.what + " failed: " +
                               (unreachable ? "cannot reach " : "lost connection to ") + endpoint_ +
                               " (" + resp.curl_error + ")",
                           "check --endpoint-url (or AWS_ENDPOINT_URL) and that the S3 server is "
                           "running and reachable");
  }

  void Attempt(const Request& req, Response* resp) {
    CURL* curl = ThreadHandle();
    char errbuf[CURL_ERROR_SIZE] = "";
    std::string url = Url(req);
    struct curl_slist* headers = nullptr;
    std::string sha = "x-amz-content-sha256: " + Sha256Hex(req.body);
    headers = curl_slist_append(headers, sha.c_str());
    std::string token = "x-amz-security-token: " + session_token_;
    if (!session_token_.empty()) headers = curl_slist_append(headers, token.c_str());
    for (const std::string& h : req.headers) headers = curl_slist_append(headers, h.c_str());
    bool has_body = strcmp(req.method, "PUT") == 0 || strcmp(req.method, "POST") == 0;
    if (has_body) {  // else libcurl labels the body form data; the object keeps this type
      headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    }

    std::string sigv4 = "aws:amz:" + region_ + ":s3";
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);  // keys are not file paths: keep "..", "."
    curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(curl, CURLOPT_USERPWD, userpwd_.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // stalled for 30 s: give up
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 30L);
    curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 256L << 10);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, WriteBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, HeaderLine);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
    if (std::string ca = Env("AWS_CA_BUNDLE"); !ca.empty()) {
      curl_easy_setopt(curl, CURLOPT_CAINFO, ca.c_str());  // copied by libcurl
    }
    if (strcmp(req.method, "HEAD") == 0) {
      curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    } else if (has_body) {
      // The body as POSTFIELDS (not copied), not as an upload: libcurl 7.88
      // sends "Expect: 100-continue" with every upload, a round trip per PUT,
      // and suppressing it with an empty "Expect:" header breaks the signature
      // (libcurl signs that header). Here it is used only above 1 MiB.
      curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req.body.empty() ? "" : req.body.data());
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method);
    } else if (strcmp(req.method, "GET") != 0) {
      curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req.method);
    }

    resp->curl = curl_easy_perform(curl);
    curl_off_t sent = 0;
    curl_easy_getinfo(curl, CURLINFO_SIZE_UPLOAD_T, &sent);
    stats_.requests++;
    stats_.bytes_sent += static_cast<uint64_t>(sent);
    stats_.bytes_received += resp->body.size();
    if (resp->curl == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
    } else {
      resp->curl_error = errbuf[0] ? errbuf : curl_easy_strerror(resp->curl);
    }
    curl_easy_reset(curl);  // drops the pointers to this frame; keeps the open connections
    curl_slist_free_all(headers);
  }

  // The Status for an unexpected HTTP response:
  // "s3://b/p: PUT packs/x.pack failed: 403 SignatureDoesNotMatch (…)".
  Status HttpError(const Request& req, const Response& resp) const {
    S3Error err = ParseError(resp.body);
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
    Request init{"POST", ObjectKey(key), Query({{"uploads", ""}}), {}, "PUT " + key + " (start)"};
    CAIRN_ASSIGN_OR_RETURN(Response started, Perform(init));
    if (started.status != 200) return HttpError(init, started);
    XmlDoc doc(started.body);
    std::string upload_id = ChildText(doc.root(), "UploadId");
    if (upload_id.empty()) {
      return Status::Corruption(Describe() + ": PUT " + key + ": no UploadId in the response");
    }
    Status s = UploadParts(key, data, upload_id);
    if (!s.ok()) {  // best effort; a leftover upload only costs storage until a lifecycle rule
      Request abort{"DELETE",
                    ObjectKey(key),
                    Query({{"uploadId", upload_id}}),
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
      Request req{"PUT", ObjectKey(key),
                  Query({{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}),
                  data.substr(off, kPartSize),
                  "PUT " + key + " (part " + std::to_string(part) + ")"};
      CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
      if (resp.status != 200) return HttpError(req, resp);
      if (resp.etag.empty()) {
        return Status::Corruption(Describe() + ": " + req.what + ": no ETag in the response");
      }
      complete += "<Part><PartNumber>" + std::to_string(part) + "</PartNumber><ETag>" +
                  XmlEscape(resp.etag) + "</ETag></Part>";
    }
    complete += "</CompleteMultipartUpload>";
    Request req{"POST", ObjectKey(key), Query({{"uploadId", upload_id}}), complete,
                "PUT " + key + " (complete)"};
    CAIRN_ASSIGN_OR_RETURN(Response resp, Perform(req));
    // S3 may report a failed completion as 200 with an <Error> body.
    if (resp.status != 200 || !ParseError(resp.body).code.empty()) return HttpError(req, resp);
    return Status::OK();
  }

  const std::string bucket_;
  const std::string prefix_;    // without leading or trailing '/'
  const std::string endpoint_;  // "https://s3.us-east-1.amazonaws.com", no trailing '/'
  const std::string region_;
  const std::string userpwd_;  // "key:secret" for CURLOPT_USERPWD
  const std::string session_token_;
  const bool path_style_;
  std::string base_url_;  // endpoint/bucket or scheme://bucket.host
};

}  // namespace

// Resolves bucket, endpoint, region and credentials (spec, then environment,
// then the AWS profile files). InvalidArgument for a malformed URL or when no
// credentials are found. Does not contact the server.
Result<std::unique_ptr<Backend>> OpenS3Backend(const RemoteSpec& spec) {
  GlobalInit();
  constexpr std::string_view kScheme = "s3://";
  if (spec.url.rfind(kScheme, 0) != 0) {
    return Status::InvalidArgument("not an s3 URL: " + spec.url, "use s3://bucket[/prefix]");
  }
  std::string rest = spec.url.substr(kScheme.size());
  size_t slash = rest.find('/');
  std::string bucket = rest.substr(0, slash);
  std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  if (bucket.empty() || bucket.find_first_of(" ?#\\") != std::string::npos ||
      prefix.find("//") != std::string::npos || prefix.rfind('/', 0) == 0) {
    return Status::InvalidArgument("malformed s3 URL: " + spec.url, "use s3://bucket[/prefix]");
  }

  std::string profile = !spec.profile.empty() ? spec.profile : Env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::map<std::string, std::string> config = ConfigProfile(profile);

  std::string region = spec.region;
  for (const std::string& r :
       {Env("AWS_REGION"), Env("AWS_DEFAULT_REGION"), config["region"], std::string("us-east-1")}) {
    if (region.empty()) region = r;
  }

  std::string endpoint = spec.endpoint_url;
  if (endpoint.empty()) endpoint = Env("AWS_ENDPOINT_URL_S3");
  if (endpoint.empty()) endpoint = Env("AWS_ENDPOINT_URL");
  bool custom_endpoint = !endpoint.empty();
  if (!custom_endpoint) endpoint = "https://s3." + region + ".amazonaws.com";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  if (endpoint.rfind("http://", 0) != 0 && endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("s3 endpoint URL must start with http:// or https://: " +
                                   endpoint);
  }
  // Auto: path-style for custom endpoints (MinIO, moto, Ceph), and for dotted
  // bucket names, which do not match AWS's wildcard TLS certificate.
  bool path_style =
      spec.path_style == 1 ||
      (spec.path_style == -1 && (custom_endpoint || bucket.find('.') != std::string::npos));

  std::string key = spec.access_key_id, secret = spec.secret_access_key, token;
  if (key.empty() != secret.empty()) {
    return Status::InvalidArgument(spec.url +
                                   ": an access key id needs its secret access key "
                                   "(and the other way round)");
  }
  if (key.empty() && !Env("AWS_ACCESS_KEY_ID").empty()) {
    key = Env("AWS_ACCESS_KEY_ID");
    secret = Env("AWS_SECRET_ACCESS_KEY");
    token = Env("AWS_SESSION_TOKEN");
  }
  if (key.empty()) {
    std::map<std::string, std::string> creds =
        ReadIni(AwsFilePath("AWS_SHARED_CREDENTIALS_FILE", "credentials"))[profile];
    if (creds["aws_access_key_id"].empty()) creds = config;  // the CLI accepts keys there too
    key = creds["aws_access_key_id"];
    secret = creds["aws_secret_access_key"];
    token = creds["aws_session_token"];
  }
  if (key.empty() || secret.empty()) {
    return Status::InvalidArgument(
        spec.url + ": no AWS credentials found (profile '" + profile + "')",
        "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run 'aws configure' to write "
        "~/.aws/credentials");
  }
  return std::unique_ptr<Backend>(
      new S3Backend(bucket, prefix, endpoint, path_style, region, key, secret, token));
}

}  // namespace cairn
