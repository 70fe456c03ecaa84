// Attachment findings: dangerous kinds by content and by name, names that lie, and archives.
#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <memory>
#include <set>

#include "checks/payload_attachments.hpp"
#include "checks/payload_findings.hpp"
#include "relaygate/message.hpp"

namespace relaygate::checks {

namespace {

constexpr std::size_t kReadChunkBytes = 64u << 10;

constexpr std::array<std::string_view, 14> kExecutableExtensions{
    "exe", "dll", "com", "pif", "msi", "msp", "cpl", "sys", "jar", "appx",
    "msix", "xll", "elf", "app"};
constexpr std::array<std::string_view, 17> kScriptExtensions{
    "js", "jse", "vbs", "vbe", "ps1", "psm1", "bat", "cmd", "hta", "wsf",
    "wsh", "scr", "sct", "reg", "vb", "msc", "chm"};
constexpr std::array<std::string_view, 5> kShortcutExtensions{"lnk", "url", "scf", "desktop",
                                                              "website"};
constexpr std::array<std::string_view, 6> kDiskImageExtensions{"iso", "img", "vhd", "vhdx",
                                                               "dmg", "udf"};
constexpr std::array<std::string_view, 9> kMacroExtensions{
    "docm", "dotm", "xlsm", "xltm", "xlam", "pptm", "potm", "ppsm", "sldm"};
// Extensions a double extension hides behind.
constexpr std::array<std::string_view, 18> kDecoyExtensions{
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "txt", "rtf", "jpg",
    "jpeg", "png", "gif", "zip", "htm", "html", "csv", "mp3"};

constexpr std::array<std::string_view, 6> kExecutableTypes{
    "application/x-dosexec", "application/x-msdownload",
    "application/vnd.microsoft.portable-executable", "application/x-executable",
    "application/x-pie-executable", "application/x-mach-binary"};
constexpr std::array<std::string_view, 16> kArchiveTypes{
    "application/zip", "application/x-7z-compressed", "application/x-rar",
    "application/vnd.rar", "application/x-rar-compressed", "application/x-tar",
    "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz",
    "application/vnd.ms-cab-compressed", "application/x-iso9660-image", "application/zstd",
    "application/x-lzip", "application/x-lzma", "application/java-archive"};

// What inspecting one file found: finding id (attachment_* kinds) and what it says.
struct Hit {
    std::string id;
    std::string detail;
};

template <std::size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& set)
{
    return std::find(set.begin(), set.end(), value) != set.end();
}

bool starts_with(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

// The file name without any directories (either kind of slash).
std::string_view base_name(std::string_view name)
{
    std::size_t slash = name.find_last_of("/\\");
    return slash == std::string_view::npos ? name : name.substr(slash + 1);
}

// The extensions of a file name, last first, lowercase, trailing dots and spaces ignored.
std::vector<std::string> extensions(std::string_view name)
{
    std::string base = ascii_lower(base_name(name));
    while (!base.empty() && (base.back() == '.' || base.back() == ' ')) base.pop_back();
    std::vector<std::string> found;
    std::size_t end = base.size();
    for (int i = 0; i < 2; ++i) {
        std::size_t dot = base.rfind('.', end == 0 ? 0 : end - 1);
        if (dot == std::string::npos || dot == 0) break;
        std::string extension = base.substr(dot + 1, end - dot - 1);
        while (!extension.empty() && extension.back() == ' ') extension.pop_back();
        found.push_back(extension);
        end = dot;
    }
    return found;
}

bool is_pe(std::string_view bytes)
{
    if (!starts_with(bytes, "MZ") || bytes.size() < 0x40) return false;
    auto at = [&](std::size_t i) { return static_cast<std::uint32_t>(
                                              static_cast<unsigned char>(bytes[i])); };
    std::uint32_t offset = at(0x3c) | at(0x3d) << 8 | at(0x3e) << 16 | at(0x3f) << 24;
    return offset + 4 <= bytes.size() && bytes.substr(offset, 4) == std::string_view("PE\0\0", 4);
}

bool is_native_executable(std::string_view bytes, std::string_view sniffed)
{
    static constexpr std::array<std::string_view, 4> kMachO{
        "\xfe\xed\xfa\xce", "\xce\xfa\xed\xfe", "\xfe\xed\xfa\xcf", "\xcf\xfa\xed\xfe"};
    if (one_of(sniffed, kExecutableTypes) || is_pe(bytes) || starts_with(bytes, "\x7f" "ELF")) {
        return true;
    }
    return std::any_of(kMachO.begin(), kMachO.end(),
                       [&](std::string_view magic) { return starts_with(bytes, magic); });
}

bool is_shortcut_content(std::string_view bytes)
{
    return starts_with(bytes, std::string_view("\x4c\x00\x00\x00\x01\x14\x02\x00", 8));
}

bool is_archive_type(std::string_view sniffed)
{
    return one_of(sniffed, kArchiveTypes) ||
           starts_with(sniffed, "application/vnd.openxmlformats-officedocument") ||
           (starts_with(sniffed, "application/vnd.ms-") && sniffed.find("macroenabled") !=
                                                               std::string_view::npos);
}

// Which file families an extension promises, as libmagic type prefixes; empty when the
// extension promises nothing checkable.
std::vector<std::string_view> promised_types(std::string_view extension)
{
    if (extension == "pdf") return {"application/pdf"};
    if (extension == "jpg" || extension == "jpeg") return {"image/jpeg"};
    if (extension == "png") return {"image/png"};
    if (extension == "gif") return {"image/gif"};
    if (extension == "zip") return {"application/zip"};
    if (extension == "doc" || extension == "xls" || extension == "ppt") {
        return {"application/msword", "application/vnd.ms-", "application/x-ole-storage",
                "application/cdfv2"};
    }
    if (extension == "docx" || extension == "xlsx" || extension == "pptx") {
        return {"application/vnd.openxmlformats", "application/zip", "application/cdfv2",
                "application/encrypted"};
    }
    if (extension == "txt" || extension == "csv") return {"text/", "application/csv"};
    return {};
}

class Inspector {
public:
    Inspector(const Policy& policy, std::vector<Finding>& findings)
        : policy_(policy), findings_(findings)
    {
    }

    // Inspects one attachment (archive level 0).
    void attachment(const mime::Part& part);

private:
    struct ArchiveState {
        std::string path;            // "a.zip > b.zip" for details
        std::size_t level = 0;       // 1 for an archive that is the attachment itself
        std::int64_t declared = 0;   // sizes declared by its entries
        std::size_t attachment_bytes = 0;
        std::uint64_t inflated = 0;  // bytes its members actually inflated to, kept or not
        bool encrypted_reported = false;
        bool bomb_reported = false;
    };

    // What reading one member came to.
    struct MemberRead {
        std::uint64_t inflated = 0;    // bytes inflated, kept or not
        std::uint64_t compressed = 0;  // archive bytes consumed meanwhile
        bool budget_reached = false;   // the message's kMaxInflatedBytes ran out
        bool fatal = false;            // the archive cannot be read any further
    };

    void inspect(std::string_view name, std::string_view declared_type, std::string_view bytes,
                 const std::string& path, std::size_t level, std::vector<Hit>& hits);
    void name_hits(std::string_view name, std::vector<Hit>& hits);
    void content_hits(std::string_view name, std::string_view declared_type,
                      std::string_view bytes, std::string_view sniffed, std::vector<Hit>& hits);
    void scan_archive(std::string_view bytes, ArchiveState state, std::vector<Hit>& hits);
    bool read_entries(archive* reader, ArchiveState& state, std::vector<Hit>& hits);
    MemberRead inflate_member(archive* reader, std::string& member, ArchiveState& state);
    void read_error(archive* reader, ArchiveState& state);
    void read_member(archive* reader, std::string& member, const std::string& member_path,
                     ArchiveState& state);
    void archive_ratio(const ArchiveState& state);
    void entry_hits(archive* reader, archive_entry* entry, ArchiveState& state,
                    std::vector<Hit>& hits);
    void report(const std::string& id, const std::string& detail);

    const Policy& policy_;
    std::vector<Finding>& findings_;
    std::uint64_t inflated_ = 0;
    bool inflate_budget_reported_ = false;
    std::set<std::pair<std::string, std::string>> reported_;
};

void Inspector::report(const std::string& id, const std::string& detail)
{
    if (!reported_.insert({id, detail}).second) return;
    findings_.push_back(payload_finding(policy_, id, detail));
}

void Inspector::attachment(const mime::Part& part)
{
    std::string name = part.filename.empty() ? "(unnamed " + part.content_type + " part)"
                                             : part.filename;
    std::vector<Hit> hits;
    inspect(part.filename, part.content_type, part.decoded, shorten(name), 0, hits);
    for (const Hit& hit : hits) report(hit.id, hit.detail);
}

// Kinds a file name alone gives away, and names that hide their real extension.
void Inspector::name_hits(std::string_view name, std::vector<Hit>& hits)
{
    std::vector<std::string> found = extensions(name);
    if (found.empty()) return;
    const std::string& last = found[0];
    std::string shown = shorten(base_name(name));
    bool dangerous = true;
    if (one_of(last, kExecutableExtensions)) {
        hits.push_back({"attachment_executable", shown + " is named as a program"});
    } else if (one_of(last, kScriptExtensions)) {
        hits.push_back({"attachment_script", shown + " is a ." + last + " script"});
    } else if (one_of(last, kShortcutExtensions)) {
        hits.push_back({"attachment_shortcut", shown + " is a ." + last + " shortcut"});
    } else if (one_of(last, kDiskImageExtensions)) {
        hits.push_back({"attachment_disk_image", shown + " is a ." + last + " disk image"});
    } else if (one_of(last, kMacroExtensions)) {
        hits.push_back({"attachment_macro", shown + " is a macro-enabled Office document"});
    } else {
        dangerous = false;
    }

    bool padded = base_name(name).find("   ") != std::string_view::npos;
    if (dangerous && found.size() == 2 && (one_of(found[1], kDecoyExtensions) || padded)) {
        hits.push_back({"attachment_double_extension",
                        shown + " poses as ." + found[1] + " but is ." + last});
    }
}

// Kinds the content gives away, whatever the name says.
void Inspector::content_hits(std::string_view name, std::string_view declared_type,
                             std::string_view bytes, std::string_view sniffed,
                             std::vector<Hit>& hits)
{
    std::string shown = shorten(base_name(name).empty() ? std::string_view("(unnamed)")
                                                         : base_name(name));
    if (is_native_executable(bytes, sniffed)) {
        hits.push_back({"attachment_executable", shown + " is a program (" +
                                                     std::string(sniffed) + ")"});
    }
    if (is_shortcut_content(bytes)) {
        hits.push_back({"attachment_shortcut", shown + " is a Windows shortcut"});
    }
    if (sniffed == "application/x-iso9660-image" || starts_with(bytes, "conectix") ||
        starts_with(bytes, "vhdxfile")) {
        hits.push_back({"attachment_disk_image", shown + " is a disk image"});
    }
    if (ole_has_vba(bytes)) {
        hits.push_back({"attachment_macro", shown + " carries VBA macros (OLE)"});
    }
    bool html = sniffed == "text/html" || declared_type == "text/html";
    std::vector<std::string> found = extensions(name);
    if (!found.empty() && (found[0] == "htm" || found[0] == "html" || found[0] == "shtml" ||
                           found[0] == "xhtml" || found[0] == "svg")) {
        html = true;
    }
    if (html && html_smuggles(bytes)) {
        hits.push_back({"attachment_html_smuggling", shown + " assembles a file in the browser"});
    }

    if (found.empty() || sniffed.empty()) return;
    auto promised = promised_types(found[0]);
    bool kept = promised.empty() || sniffed == "application/octet-stream" ||
                std::any_of(promised.begin(), promised.end(),
                            [&](std::string_view type) { return starts_with(sniffed, type); });
    if (!kept) {
        hits.push_back({"attachment_type_mismatch", shown + " is named ." + found[0] +
                                                        " but holds " + std::string(sniffed)});
    }
}

// One file at an archive level: its name, its content, and when it is an archive, its
// members one level deeper.
void Inspector::inspect(std::string_view name, std::string_view declared_type,
                        std::string_view bytes, const std::string& path, std::size_t level,
                        std::vector<Hit>& hits)
{
    std::string sniffed = sniff_type(bytes);
    name_hits(name, hits);
    content_hits(name, declared_type, bytes, sniffed, hits);
    if (!is_archive_type(sniffed)) return;

    std::size_t max_level = policy_.payload.max_archive_depth;
    if (level + 1 > max_level) {
        if (max_level > 0) {
            report("archive_too_deep", path + " nests archives deeper than " +
                                           std::to_string(max_level));
        }
        return;
    }
    ArchiveState state;
    state.path = path;
    state.level = level + 1;
    state.attachment_bytes = bytes.size();
    scan_archive(bytes, state, hits);
}

// True when inflated bytes came from compressed ones at a bomb's ratio, and are enough to
// matter (a small, very repetitive file is not a bomb).
bool bomb_ratio(std::uint64_t inflated, std::uint64_t compressed)
{
    return inflated >= kMinBombInflatedBytes &&
           static_cast<double>(inflated) >=
               kMaxCompressionRatio * static_cast<double>(std::max<std::uint64_t>(compressed, 1));
}

// Inflates a member to its end, keeping its first kMaxMemberKeptBytes for inspection and
// discarding the rest, so that the count of inflated bytes is real; stops where the message's
// kMaxInflatedBytes budget runs out, so that time stays bounded.
Inspector::MemberRead Inspector::inflate_member(archive* reader, std::string& member,
                                                ArchiveState& state)
{
    MemberRead read;
    // The input position moves in read-ahead steps for compressed tar streams, so the share
    // of one member is approximate there; for zip it is exact.
    la_int64_t start = archive_filter_bytes(reader, -1);
    std::array<char, kReadChunkBytes> chunk;
    for (;;) {
        la_ssize_t got = archive_read_data(reader, chunk.data(), chunk.size());
        if (got == 0) break;
        if (got < 0) {
            read_error(reader, state);
            read.fatal = got == ARCHIVE_FATAL;
            break;
        }
        std::size_t size = static_cast<std::size_t>(got);
        member.append(chunk.data(), std::min(size, kMaxMemberKeptBytes - member.size()));
        read.inflated += size;
        inflated_ += size;
        if (inflated_ >= kMaxInflatedBytes) {
            read.budget_reached = true;
            break;
        }
    }
    la_int64_t consumed = archive_filter_bytes(reader, -1) - start;
    read.compressed = static_cast<std::uint64_t>(std::max<la_int64_t>(consumed, 0));
    state.inflated += read.inflated;
    return read;
}

// A member that cannot be read: encrypted, or damaged.
void Inspector::read_error(archive* reader, ArchiveState& state)
{
    const char* error = archive_error_string(reader);
    std::string text = error ? error : "read error";
    if (text.find("ncrypt") != std::string::npos || text.find("assphrase") != std::string::npos) {
        if (!state.encrypted_reported) report("archive_encrypted", state.path +
                                              " holds encrypted entries");
        state.encrypted_reported = true;
    } else {
        report("archive_unreadable", state.path + ": " + shorten(text));
    }
}

// Reads a member and judges its inflation: a bomb when it inflated at kMaxCompressionRatio or
// more, or when it used up the message's inflate budget (reading then stops for good).
void Inspector::read_member(archive* reader, std::string& member, const std::string& member_path,
                            ArchiveState& state)
{
    MemberRead read = inflate_member(reader, member, state);
    if (read.fatal) {
        // Nothing more of this archive can be read; its entries loop ends at the next header.
        return;
    }
    if (bomb_ratio(read.inflated, read.compressed)) {
        report("archive_bomb", member_path + " inflates " +
                                   std::to_string(read.inflated / std::max<std::uint64_t>(
                                                                     read.compressed, 1)) +
                                   " times (" + std::to_string(read.inflated) + " bytes from " +
                                   std::to_string(read.compressed) + ")");
        state.bomb_reported = true;
    } else if (read.budget_reached) {
        report("archive_bomb", state.path + " inflates to " + std::to_string(kMaxInflatedBytes) +
                                   " bytes or more");
        state.bomb_reported = true;
    }
    inflate_budget_reported_ = inflate_budget_reported_ || read.budget_reached;
}

// The whole archive against the attachment it came from: many members that are each small
// can still make a bomb together.
void Inspector::archive_ratio(const ArchiveState& state)
{
    if (state.bomb_reported || !bomb_ratio(state.inflated, state.attachment_bytes)) return;
    report("archive_bomb", state.path + " inflates " +
                               std::to_string(state.inflated / std::max<std::uint64_t>(
                                                                   state.attachment_bytes, 1)) +
                               " times (" + std::to_string(state.inflated) + " bytes from " +
                               std::to_string(state.attachment_bytes) + ")");
}

// One entry: its declared size, encryption, name and (when readable) content.
void Inspector::entry_hits(archive* reader, archive_entry* entry, ArchiveState& state,
                           std::vector<Hit>& hits)
{
    const char* raw_name = archive_entry_pathname_utf8(entry);
    if (!raw_name) raw_name = archive_entry_pathname(entry);
    std::string name = raw_name ? raw_name : "";
    std::string member_path = state.path + " > " + shorten(name);

    if (ascii_lower(base_name(name)) == "vbaproject.bin") {
        // The macro storage of an OOXML document: the document is the finding, not its part.
        hits.push_back({"attachment_macro", state.path + " carries VBA macros (vbaProject.bin)"});
        return;
    }
    if (archive_entry_filetype(entry) == AE_IFDIR) return;

    bool readable = true;
    if (archive_entry_size_is_set(entry)) {
        std::int64_t size = archive_entry_size(entry);
        state.declared += std::max<std::int64_t>(size, 0);
        if (size >= kMaxDeclaredEntryBytes || state.declared >= kMaxDeclaredArchiveBytes) {
            report("archive_bomb", member_path + " declares " + std::to_string(size) +
                                       " bytes");
            state.bomb_reported = true;
            readable = false;
        }
    }
    if (archive_entry_is_encrypted(entry)) {
        if (!state.encrypted_reported) report("archive_encrypted", state.path +
                                              " holds encrypted entries");
        state.encrypted_reported = true;
        readable = false;
    }

    std::vector<Hit> member_hits;
    std::string member;
    if (readable && !inflate_budget_reported_) read_member(reader, member, member_path, state);
    if (!readable || member.empty()) {
        name_hits(name, member_hits);
    } else {
        inspect(name, "", member, member_path, state.level, member_hits);
    }
    for (const Hit& hit : member_hits) {
        if (hit.id == "archive_dangerous_member") {
            hits.push_back(hit);  // from an archive nested in this one, already phrased
        } else if (hit.id != "attachment_type_mismatch") {
            hits.push_back({"archive_dangerous_member", state.path + " holds " + hit.detail});
        }
    }
}

using ArchiveReader = std::unique_ptr<archive, decltype(&archive_read_free)>;

// A libarchive reader over bytes with every filter, and every format it knows (raw_only:
// only raw, which reads a compressed stream as one file); null when it cannot be opened.
ArchiveReader open_archive(std::string_view bytes, bool raw_only)
{
    ArchiveReader reader(archive_read_new(), archive_read_free);
    archive_read_support_filter_all(reader.get());
    if (!raw_only) archive_read_support_format_all(reader.get());
    archive_read_support_format_raw(reader.get());
    if (archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) != ARCHIVE_OK) {
        reader.reset();
    }
    return reader;
}

// Opens an archive from memory with libarchive (every format and filter it knows, and raw
// for a lone compressed file) and inspects each entry.
void Inspector::scan_archive(std::string_view bytes, ArchiveState state, std::vector<Hit>& hits)
{
    ArchiveReader reader = open_archive(bytes, false);
    if (!reader) {
        report("archive_unreadable", state.path + " cannot be opened as an archive");
        return;
    }

    bool empty = read_entries(reader.get(), state, hits);
    if (empty && archive_filter_count(reader.get()) > 1) {
        // A compressed stream that holds no entry at all: zeros, for one, read as an empty
        // tar, and gunzip would still inflate every byte of them. Read it as one file.
        ArchiveReader raw = open_archive(bytes, true);
        if (raw) read_entries(raw.get(), state, hits);
    }
    archive_ratio(state);
}

// Inspects each entry of an open archive, up to kMaxArchiveEntries and while the message's
// inflate budget lasts; true when the archive ended cleanly without any entry.
bool Inspector::read_entries(archive* reader, ArchiveState& state, std::vector<Hit>& hits)
{
    archive_entry* entry = nullptr;
    for (std::size_t count = 0;; ++count) {
        int status = archive_read_next_header(reader, &entry);
        if (status == ARCHIVE_EOF) return count == 0;
        if (status == ARCHIVE_FATAL || count == kMaxArchiveEntries) {
            const char* error = archive_error_string(reader);
            std::string text = error ? error : "too many entries";
            if (text.find("ncrypt") != std::string::npos) {
                report("archive_encrypted", state.path + " is encrypted");
            } else if (count == 0) {
                report("archive_unreadable", state.path + ": " + shorten(text));
            }
            return false;
        }
        entry_hits(reader, entry, state, hits);
        if (inflate_budget_reported_) return false;
    }
}

}  // namespace

// Attachments are parts with a file name or attachment disposition, and any part that is not
// text (a program sent as inline application/octet-stream is still a program).
void check_attachments(const mime::WalkResult& walk, const Policy& policy,
                       std::vector<Finding>& findings)
{
    Inspector inspector(policy, findings);
    for (const mime::Part& part : walk.parts) {
        bool text = starts_with(part.content_type, "text/");
        if (!part.is_attachment && text && part.filename.empty()) continue;
        inspector.attachment(part);
    }
}

}  // namespace relaygate::checks
