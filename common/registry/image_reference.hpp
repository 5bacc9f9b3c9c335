// image_reference: "<name>:<tag>", "<name>@<digest>" or
// "<name>:<tag>@<digest>" (a repository within one registry; the registry
// host is chosen separately, e.g. by containerd's ?ns=). A bare name means
// the tag "latest", as docker pull does.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/digest.hpp"
#include "common/error.hpp"
#include "common/repository_name.hpp"

namespace blobswarm::registry {

class image_reference {
 public:
  static result<image_reference> parse(std::string_view text);

  const repository_name& name() const noexcept { return name_; }
  const std::string& tag() const noexcept { return tag_; }  // may be empty with a digest
  const std::optional<blobswarm::digest>& pinned() const noexcept { return digest_; }
  // What goes into /v2/<name>/manifests/<reference>: the digest when
  // pinned, else the tag.
  std::string reference() const;
  std::string str() const;

 private:
  image_reference(repository_name n, std::string tag, std::optional<blobswarm::digest> d)
      : name_(std::move(n)), tag_(std::move(tag)), digest_(std::move(d)) {}
  repository_name name_;
  std::string tag_;
  std::optional<blobswarm::digest> digest_;
};

}  // namespace blobswarm::registry
