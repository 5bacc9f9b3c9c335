// url_index: the seeder's record of the files it pulled from URLs
// (DATA/urls.db): for each URL, the digest of the bytes it got, their size,
// the validators the origin sent (ETag, Last-Modified) and when the bytes
// were fetched and last confirmed. The bytes themselves are blobs in the
// blob store (seeder/blob_store.hpp), shared with image blobs of the same
// digest and evicted by the same quota; a record whose blob is gone is
// fetched again. All of this file's SQL is here. Thread-safe (one mutex).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "db/database.hpp"

namespace blobswarm::seeder {

struct url_record {
  std::string url;  // normalized (file_url::str)
  blobswarm::digest digest;
  std::uint64_t size = 0;
  std::string etag;             // as the origin sent it; empty: none
  std::string last_modified;    // as the origin sent it; empty: none
  std::int64_t fetched_ms = 0;  // when these bytes were fetched (unix ms)
  std::int64_t checked_ms = 0;  // when the origin last confirmed them
};

class url_index {
 public:
  static result<std::unique_ptr<url_index>> open(const std::filesystem::path& file);

  result<std::optional<url_record>> find(const std::string& url) const;
  // Inserts or replaces the record of r.url.
  result<void> put(const url_record& r);
  // The origin confirmed the bytes (304 Not Modified) at `now_ms`.
  result<void> confirm(const std::string& url, std::int64_t now_ms);
  std::size_t count() const;

 private:
  explicit url_index(db::database db) : db_(std::move(db)) {}
  mutable std::mutex mutex_;
  mutable db::database db_;
};

}  // namespace blobswarm::seeder
