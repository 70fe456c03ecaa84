#include "mime/structure.hpp"

#include <mimetic/contenttype.h>

#include <algorithm>
#include <cstring>

#include "relaygate/message.hpp"

namespace relaygate::mime::detail {

namespace {

// One line as mimetic splits them: CR, LF, CRLF or LFCR end it.
struct Line {
    std::string_view content;  // without its line end
    std::string_view end;
};

// Whether text at i starts with lower, ignoring ASCII case (lower is lowercase).
bool starts_with_lower(std::string_view text, std::size_t i, std::string_view lower)
{
    if (text.size() - i < lower.size()) return false;
    for (std::size_t k = 0; k < lower.size(); ++k) {
        char c = text[i + k];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + ('a' - 'A'));
        if (c != lower[k]) return false;
    }
    return true;
}

bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

std::string_view without_leading_blanks(std::string_view text)
{
    while (!text.empty() && is_blank(text.front())) text.remove_prefix(1);
    return text;
}

// The field name of a header line as mimetic's header parser reads it: printable ASCII up to
// a colon, blanks allowed before the colon. Empty when mimetic would take the line as the
// start of the body instead.
std::string_view field_name(std::string_view line)
{
    std::size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return {};
    std::string_view name = line.substr(0, colon);
    while (!name.empty() && is_blank(name.back())) name.remove_suffix(1);
    for (char c : name) {
        auto u = static_cast<unsigned char>(c);
        if (u <= 32 || u >= 127) return {};
    }
    return name;
}

class StructurePass {
public:
    StructurePass(std::string_view raw, const Limits& limits) : raw_(raw), limits_(limits)
    {
        out_.text.reserve(raw.size());
    }

    Prepared run();

private:
    struct Frame {
        std::string delimiter;  // "--" + boundary
        std::size_t depth = 0;  // depth of the multipart entity itself
    };
    enum class Mode { header, body, skip };

    bool next_line(Line& line);
    void on_header_line(const Line& line);
    void on_field_line(const Line& line, std::string_view name);
    void on_continuation_line(const Line& line);
    void end_header();
    void on_body_line(const Line& line);
    void on_boundary(const Line& line, std::size_t frame_index);
    bool start_entity(std::size_t depth);
    void emit(std::string_view content, std::string_view end);
    void cap_content_type_fields();

    std::string_view raw_;
    const Limits& limits_;
    std::size_t pos_ = 0;
    Prepared out_;

    std::vector<Frame> frames_;
    Mode mode_ = Mode::header;
    bool stopped_ = false;
    std::size_t entity_depth_ = 0;
    std::size_t entities_ = 1;
    bool depth_reported_ = false;

    // The header block being read.
    std::string content_type_;
    bool have_content_type_ = false;
    bool in_content_type_ = false;
    std::size_t field_bytes_ = 0;
    std::size_t total_header_bytes_ = 0;
    bool header_budget_reported_ = false;
};

bool StructurePass::next_line(Line& line)
{
    if (pos_ >= raw_.size()) return false;
    std::size_t end = find_line_end(raw_, pos_);
    if (end == std::string_view::npos) {
        line = {raw_.substr(pos_), {}};
        pos_ = raw_.size();
        return true;
    }
    std::size_t end_length = 1;
    if (end + 1 < raw_.size() && (raw_[end + 1] == '\r' || raw_[end + 1] == '\n') &&
        raw_[end + 1] != raw_[end]) {
        end_length = 2;
    }
    line = {raw_.substr(pos_, end - pos_), raw_.substr(end, end_length)};
    pos_ = end + end_length;
    return true;
}

void StructurePass::emit(std::string_view content, std::string_view end)
{
    out_.text.append(content);
    out_.text.append(end);
}

// Walks the lines; each mode decides what mimetic gets to see of them.
Prepared StructurePass::run()
{
    Line line;
    while (!stopped_ && next_line(line)) {
        if (mode_ == Mode::header) on_header_line(line);
        else on_body_line(line);
    }
    cap_content_type_fields();
    return std::move(out_);
}

void StructurePass::on_header_line(const Line& line)
{
    if (line.content.empty()) {
        emit(line.content, line.end);
        end_header();
        return;
    }
    if (is_blank(line.content.front())) {
        on_continuation_line(line);
        return;
    }
    if (line.content.front() == ':') {
        // mimetic skips such a line and stays in the header.
        in_content_type_ = false;
        emit(line.content, line.end);
        return;
    }
    std::string_view name = field_name(line.content);
    if (name.empty()) {
        // mimetic takes a line that is no field as the first body line.
        end_header();
        if (mode_ == Mode::header) on_header_line(line);
        else if (!stopped_) on_body_line(line);
        return;
    }
    on_field_line(line, name);
}

void StructurePass::on_field_line(const Line& line, std::string_view name)
{
    in_content_type_ = !have_content_type_ && ascii_lower(name) == "content-type";
    if (in_content_type_) {
        have_content_type_ = true;
        content_type_ = without_leading_blanks(line.content.substr(line.content.find(':') + 1));
    }

    std::string_view kept = line.content.substr(0, kMaxHeaderFieldBytes);
    if (kept.size() < line.content.size()) {
        out_.defects.push_back("a header field exceeds " + std::to_string(kMaxHeaderFieldBytes) +
                               " bytes and was cut");
    }
    field_bytes_ = kept.size();
    if (total_header_bytes_ + kept.size() > kMaxTotalHeaderBytes) {
        if (!header_budget_reported_) {
            out_.limits.push_back("MIME header fields exceed " +
                                  std::to_string(kMaxTotalHeaderBytes) + " bytes");
            header_budget_reported_ = true;
        }
        in_content_type_ = false;
        field_bytes_ = kMaxHeaderFieldBytes;  // drops its continuation lines too
        return;
    }
    total_header_bytes_ += kept.size();
    emit(kept, line.end);
}

void StructurePass::on_continuation_line(const Line& line)
{
    if (field_bytes_ + line.content.size() > kMaxHeaderFieldBytes ||
        total_header_bytes_ + line.content.size() > kMaxTotalHeaderBytes) {
        if (field_bytes_ < kMaxHeaderFieldBytes) {
            out_.defects.push_back("a header field exceeds " +
                                   std::to_string(kMaxHeaderFieldBytes) + " bytes and was cut");
        }
        field_bytes_ = kMaxHeaderFieldBytes;
        return;
    }
    field_bytes_ += line.content.size();
    total_header_bytes_ += line.content.size();
    if (in_content_type_) {
        // mimetic unfolds a continuation into one space and the text after its blanks.
        content_type_ += ' ';
        content_type_.append(without_leading_blanks(line.content));
    }
    emit(line.content, line.end);
}

// Decides from the Content-Type what follows the header, with mimetic's own reading of it.
void StructurePass::end_header()
{
    mimetic::ContentType type;
    if (have_content_type_) type.set(content_type_);
    content_type_.clear();
    have_content_type_ = in_content_type_ = false;
    field_bytes_ = 0;

    if (type.isMultipart()) {
        std::string boundary = type.param("boundary");
        if (boundary.empty()) out_.defects.push_back("a multipart part has no boundary");
        frames_.push_back({"--" + boundary, entity_depth_});
        mode_ = Mode::body;
        return;
    }
    if (type.type() == "message" && type.subtype() == "rfc822") {
        start_entity(entity_depth_ + 1);
        return;
    }
    mode_ = Mode::body;
}

void StructurePass::on_body_line(const Line& line)
{
    const std::string_view content = line.content;
    if (content.size() >= 2 && content[0] == '-' && content[1] == '-') {
        // Innermost first, as mimetic matches boundaries.
        for (std::size_t i = frames_.size(); i-- > 0;) {
            if (content.substr(0, frames_[i].delimiter.size()) == frames_[i].delimiter) {
                on_boundary(line, i);
                return;
            }
        }
    }
    if (mode_ != Mode::skip) emit(line.content, line.end);
}

// A boundary line of frame frame_index: inner multiparts still open are closed first, so
// that mimetic keeps the parts that follow (it would drop them all).
void StructurePass::on_boundary(const Line& line, std::size_t frame_index)
{
    std::string_view end = line.end.empty() ? std::string_view("\r\n") : line.end;
    while (frames_.size() > frame_index + 1) {
        if (mode_ != Mode::skip) {
            out_.defects.push_back("multipart boundary \"" + frames_.back().delimiter.substr(2) +
                                   "\" is not closed before an outer boundary");
        }
        emit(frames_.back().delimiter + "--", end);
        frames_.pop_back();
    }

    const Frame& frame = frames_[frame_index];
    std::string_view after = line.content.substr(frame.delimiter.size());
    if (after.substr(0, 2) == "--") {
        emit(line.content, line.end);
        frames_.pop_back();
        mode_ = Mode::body;
        return;
    }
    if (start_entity(frame.depth + 1)) emit(line.content, line.end);
}

// Counts a new entity; false when it is left out (too deep, or past the part limit).
bool StructurePass::start_entity(std::size_t depth)
{
    if (++entities_ > limits_.max_parts) {
        out_.limits.push_back("MIME parts exceed " + std::to_string(limits_.max_parts));
        stopped_ = true;
        return false;
    }
    if (depth > limits_.max_depth) {
        if (!depth_reported_) {
            out_.limits.push_back("MIME depth exceeds " + std::to_string(limits_.max_depth));
            depth_reported_ = true;
        }
        mode_ = Mode::skip;
        return false;
    }
    mode_ = Mode::header;
    entity_depth_ = depth;
    return true;
}

// The last guard for mimetic's recursion: cut the text before the Content-Type field past
// kMaxContentTypeFields, wherever it stands (no field, no nesting).
void StructurePass::cap_content_type_fields()
{
    static constexpr std::string_view kName = "content-type";
    std::string& text = out_.text;
    std::size_t count = 0;
    // The next 'c' and 'C' are found by memchr, each searched again only once passed.
    std::size_t lower = text.find('c');
    std::size_t upper = text.find('C');
    for (std::size_t i = std::min(lower, upper);
         i != std::string::npos && i + kName.size() <= text.size(); i = std::min(lower, upper)) {
        if (i == lower) lower = text.find('c', i + 1);
        if (i == upper) upper = text.find('C', i + 1);
        if (!starts_with_lower(text, i, kName)) continue;
        if (++count <= kMaxContentTypeFields) continue;

        std::size_t line_start = text.find_last_of("\r\n", i);
        text.resize(line_start == std::string::npos ? 0 : line_start + 1);
        out_.limits.push_back("MIME text has more than " +
                              std::to_string(kMaxContentTypeFields) + " Content-Type fields");
        return;
    }
}

}  // namespace

Prepared prepare_for_mimetic(std::string_view raw, const Limits& limits)
{
    return StructurePass(raw, limits).run();
}

}  // namespace relaygate::mime::detail
