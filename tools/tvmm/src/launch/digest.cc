// SPDX-License-Identifier: GPL-2.0
#include "launch/digest.h"

#include <openssl/evp.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace tvmm {

absl::StatusOr<Sha384Digest> Sha384(absl::Span<const absl::Span<const uint8_t>> parts) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              EVP_MD_CTX_free);
  Sha384Digest out;
  unsigned int len = 0;
  if (!ctx || !EVP_DigestInit_ex(ctx.get(), EVP_sha384(), nullptr))
    return absl::InternalError("SHA-384: cannot initialize (libcrypto)");
  for (absl::Span<const uint8_t> part : parts) {
    if (!EVP_DigestUpdate(ctx.get(), part.data(), part.size()))
      return absl::InternalError("SHA-384: update failed");
  }
  if (!EVP_DigestFinal_ex(ctx.get(), out.data(), &len) || len != out.size())
    return absl::InternalError("SHA-384: final failed");
  return out;
}

absl::Status LaunchDigest::AddPage(uint64_t gpa, absl::Span<const uint8_t> page) {
  if (page.size() != kLaunchPageSize || gpa % kLaunchPageSize)
    return absl::InternalError("launch digest: not a whole page");
  uint8_t header[16];
  for (int i = 0; i < 8; i++) {
    header[i] = static_cast<uint8_t>(gpa >> (8 * i));
    header[8 + i] = static_cast<uint8_t>(uint64_t{kLaunchPageSize} >> (8 * i));
  }
  absl::Span<const uint8_t> parts[] = {digest_, header, page};
  absl::StatusOr<Sha384Digest> next = Sha384(parts);
  if (!next.ok()) return next.status();
  digest_ = *next;
  pages_++;
  return absl::OkStatus();
}

std::string HexDigest(absl::Span<const uint8_t> digest) {
  return absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

}  // namespace tvmm
