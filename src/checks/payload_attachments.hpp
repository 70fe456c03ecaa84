// The payload layer's attachments: the true type from the content (libmagic), dangerous
// kinds, names that lie, and archives opened with libarchive, nested up to
// payload.max_archive_depth, under limits that make decompression bombs findings.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "relaygate/mime.hpp"
#include "relaygate/policy.hpp"
#include "relaygate/verdict.hpp"

namespace relaygate::checks {

// Bytes libmagic looks at.
constexpr std::size_t kMaxSniffBytes = 1u << 20;
// HTML searched for smuggling code.
constexpr std::size_t kMaxSmugglingScanBytes = 8u << 20;
// Entries read from one archive.
constexpr std::size_t kMaxArchiveEntries = 10000;
// Sizes an archive may declare: one entry, and all entries of one attachment. An entry that
// declares this much or more is a bomb and is not inflated.
constexpr std::int64_t kMaxDeclaredEntryBytes = std::int64_t(1) << 30;
constexpr std::int64_t kMaxDeclaredArchiveBytes = std::int64_t(4) << 30;
// Bytes of one member kept for inspection (nested archives, Office documents); the rest of
// the member is inflated and discarded, so that its inflated size is known.
constexpr std::size_t kMaxMemberKeptBytes = 16u << 20;
// Bytes inflated from all archives of one message; reading stops there, and reaching it is a
// bomb.
constexpr std::uint64_t kMaxInflatedBytes = 128u << 20;
// A member that inflates to this many times its compressed size, or an archive to this many
// times the attachment's size, is a bomb once it inflates to kMinBombInflatedBytes or more
// (below that, a high ratio is only a small, very repetitive file).
constexpr double kMaxCompressionRatio = 100;
constexpr std::uint64_t kMinBombInflatedBytes = 16u << 20;

// The MIME type libmagic reads from the content ("application/x-dosexec").
std::string sniff_type(std::string_view bytes);

// True when an OLE2 compound file holds a VBA storage or a _VBA_PROJECT stream.
bool ole_has_vba(std::string_view bytes);

// True when HTML builds a file in the browser for download (HTML smuggling).
bool html_smuggles(std::string_view html);

// Attachment and archive findings for every attachment-like part of a walk.
void check_attachments(const mime::WalkResult& walk, const Policy& policy,
                       std::vector<Finding>& findings);

}  // namespace relaygate::checks
