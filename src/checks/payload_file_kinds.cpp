// What a file is: libmagic's reading of its content, OLE2 VBA storages, HTML smuggling code.
#include <magic.h>

#include <cstring>
#include <memory>

#include "checks/payload_attachments.hpp"
#include "relaygate/message.hpp"

namespace relaygate::checks {

namespace {

// One libmagic handle per thread: magic_t is not safe to share.
class MagicHandle {
public:
    MagicHandle() : cookie_(magic_open(MAGIC_MIME_TYPE))
    {
        if (cookie_ && magic_load(cookie_, nullptr) != 0) {
            magic_close(cookie_);
            cookie_ = nullptr;
        }
    }
    ~MagicHandle()
    {
        if (cookie_) magic_close(cookie_);
    }
    MagicHandle(const MagicHandle&) = delete;
    MagicHandle& operator=(const MagicHandle&) = delete;

    magic_t get() const { return cookie_; }

private:
    magic_t cookie_;
};

// OLE2 compound file layout (MS-CFB): directory entries are 128 bytes, sector-aligned after
// a 512-byte header, so every entry starts at a multiple of 128 in the file.
constexpr std::size_t kCfbEntryBytes = 128;
constexpr std::size_t kCfbNameLengthOffset = 64;
constexpr std::size_t kCfbTypeOffset = 66;
constexpr unsigned char kCfbStorage = 1;
constexpr unsigned char kCfbStream = 2;
constexpr std::string_view kCfbSignature{"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 8};

// The UTF-16LE name of a directory entry as ASCII, or "" when it is not plain ASCII.
std::string cfb_entry_name(std::string_view entry)
{
    auto byte = [&](std::size_t i) { return static_cast<std::size_t>(
                                             static_cast<unsigned char>(entry[i])); };
    std::size_t length = byte(kCfbNameLengthOffset) | byte(kCfbNameLengthOffset + 1) << 8;
    if (length < 4 || length > 64 || length % 2 != 0) return {};
    std::string name;
    for (std::size_t i = 0; i + 2 < length; i += 2) {
        if (entry[i + 1] != 0 || entry[i] == 0) return {};
        name += entry[i];
    }
    return name;
}

std::string lower_copy(std::string_view text, std::size_t limit)
{
    return ascii_lower(text.substr(0, limit));
}

bool contains(std::string_view text, std::string_view needle)
{
    return text.find(needle) != std::string_view::npos;
}

// An <a ...> tag that downloads a data: URI.
bool has_data_download_anchor(std::string_view html)
{
    for (std::size_t pos = html.find("<a"); pos != std::string_view::npos;
         pos = html.find("<a", pos + 2)) {
        std::size_t end = html.find('>', pos);
        std::string_view tag = html.substr(pos, end == std::string_view::npos ? 4096 : end - pos);
        if (contains(tag, "download") && contains(tag, "data:")) return true;
    }
    return false;
}

}  // namespace

std::string sniff_type(std::string_view bytes)
{
    thread_local MagicHandle magic;
    if (!magic.get() || bytes.empty()) return bytes.empty() ? "application/x-empty" : "";
    const char* type = magic_buffer(magic.get(), bytes.data(), std::min(bytes.size(),
                                                                         kMaxSniffBytes));
    return type ? ascii_lower(type) : std::string();
}

// Looks at every 128-byte slot for a directory entry named VBA (storage) or _VBA_PROJECT
// (stream); both exist only in documents with macros (MS-OVBA 2.2).
// TODO: the directory is found by slot alignment, not by following its FAT chain; a
// stream's data that happens to look like such an entry would count too (never seen yet).
bool ole_has_vba(std::string_view bytes)
{
    if (bytes.substr(0, kCfbSignature.size()) != kCfbSignature) return false;
    for (std::size_t offset = 512; offset + kCfbEntryBytes <= bytes.size();
         offset += kCfbEntryBytes) {
        std::string_view entry = bytes.substr(offset, kCfbEntryBytes);
        auto type = static_cast<unsigned char>(entry[kCfbTypeOffset]);
        if (type != kCfbStorage && type != kCfbStream) continue;
        std::string name = cfb_entry_name(entry);
        if (type == kCfbStorage && ascii_lower(name) == "vba") return true;
        if (type == kCfbStream && ascii_lower(name) == "_vba_project") return true;
    }
    return false;
}

// The ways HTML assembles a download on its own: a Blob turned into an object URL or saved
// with msSaveOrOpenBlob, a data: link with a download attribute, or script setting a
// download name on base64 it decodes.
bool html_smuggles(std::string_view html)
{
    std::string text = lower_copy(html, kMaxSmugglingScanBytes);
    bool blob = contains(text, "new blob") || contains(text, "blob(");
    bool saves = contains(text, "createobjecturl") || contains(text, "mssaveoropenblob") ||
                 contains(text, "mssaveblob");
    if (blob && saves) return true;
    if (contains(text, "mssaveoropenblob")) return true;
    if (has_data_download_anchor(text)) return true;
    return contains(text, ".download") && contains(text, "atob(");
}

}  // namespace relaygate::checks
