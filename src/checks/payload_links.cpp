// Finding links in decoded text and HTML parts.
#include <gumbo.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <memory>

#include "checks/payload_urls.hpp"
#include "relaygate/message.hpp"

namespace relaygate::checks {

namespace {

// Text collected from HTML for the text scanner.
constexpr std::size_t kMaxHtmlTextBytes = 1u << 20;

bool starts_with_nocase(std::string_view text, std::string_view prefix)
{
    if (text.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
    }
    return true;
}

bool is_alnum(char c)
{
    return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

// Where a link written in text starts at position i: the length of its scheme part, 0 if none.
std::size_t link_start(std::string_view text, std::size_t i)
{
    char before = i == 0 ? ' ' : text[i - 1];
    if (is_alnum(before) || before == '.' || before == '-' || before == '/' || before == '@') {
        return 0;
    }
    std::string_view rest = text.substr(i);
    for (std::string_view scheme : {"https:", "http:", "ftp:"}) {
        if (starts_with_nocase(rest, scheme) && rest.size() > scheme.size() &&
            (rest[scheme.size()] == '/' || rest[scheme.size()] == '\\')) {
            return scheme.size();
        }
    }
    if (starts_with_nocase(rest, "www.") && rest.size() > 4 && is_alnum(rest[4])) return 4;
    return 0;
}

// Where a link written in text ends: at whitespace, controls, quotes or angle brackets, then
// without trailing punctuation that belongs to the sentence.
std::size_t link_end(std::string_view text, std::size_t start)
{
    std::size_t end = start;
    while (end < text.size() && end - start < kMaxUrlBytes) {
        auto c = static_cast<unsigned char>(text[end]);
        if (c <= ' ' || c == 0x7f || c == '<' || c == '>' || c == '"' || c == '`') break;
        ++end;
    }
    static constexpr std::string_view kTrailing = ".,;:!?)]}'*";
    while (end > start && kTrailing.find(text[end - 1]) != std::string_view::npos) --end;
    return end;
}

// Void elements have no end tag and so no nesting.
bool is_void_element(std::string_view name)
{
    static constexpr std::array<std::string_view, 14> kVoid{
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr"};
    for (auto element : kVoid) {
        if (element == name) return true;
    }
    return false;
}

// The length of the HTML prefix gumbo may parse: cut before the tag where the nesting,
// estimated from start and end tags, first exceeds kMaxHtmlNesting (an overestimate for
// unclosed tags, which keeps the bound safe), or the start tags exceed kMaxHtmlElements.
std::size_t html_parse_length(std::string_view html)
{
    std::size_t depth = 0;
    std::size_t elements = 0;
    std::size_t limit = std::min(html.size(), kMaxHtmlParseBytes);
    for (std::size_t i = 0; i < limit; ++i) {
        if (html[i] != '<' || i + 1 >= html.size()) continue;
        if (html.substr(i, 4) == "<!--") {
            std::size_t close = html.find("-->", i + 4);
            if (close == std::string_view::npos) return limit;
            i = close + 2;
            continue;
        }
        bool closing = html[i + 1] == '/';
        std::size_t name_start = i + (closing ? 2 : 1);
        std::size_t name_end = name_start;
        while (name_end < html.size() && is_alnum(html[name_end])) ++name_end;
        if (name_end == name_start) continue;

        std::string name = ascii_lower(html.substr(name_start, name_end - name_start));
        std::size_t tag_end = html.find('>', name_end);
        bool self_closing = tag_end != std::string_view::npos && tag_end > 0 &&
                            html[tag_end - 1] == '/';
        if (!closing && ++elements > kMaxHtmlElements) return i;
        if (closing) {
            if (depth > 0) --depth;
        } else if (!self_closing && !is_void_element(name) && ++depth > kMaxHtmlNesting) {
            return i;
        }
    }
    return limit;
}

// HTML parts up to this size are parsed in the per-thread arena (gumbo's allocations total a
// few times the input); larger ones with malloc, so that the arena stays small.
constexpr std::size_t kMaxArenaHtmlBytes = 256u << 10;
constexpr std::size_t kArenaBlockBytes = 256u << 10;
constexpr std::size_t kArenaBlocksKept = 4;

// Gumbo makes a malloc call per node, attribute, vector and string buffer and frees them all
// at the end (the scan profile: a fifth of gumbo's time): a bump arena per thread makes each
// allocation a pointer increment, and emptying it frees the whole tree at once.
class GumboArena {
public:
    static void* allocate(void* arena, std::size_t size)
    {
        return static_cast<GumboArena*>(arena)->take(size);
    }
    static void deallocate(void*, void*) {}

    // Frees everything allocated since the last reset, keeping a few blocks for the next parse.
    void reset()
    {
        large_.clear();
        if (blocks_.size() > kArenaBlocksKept) blocks_.resize(kArenaBlocksKept);
        current_ = 0;
        used_ = 0;
    }

private:
    void* take(std::size_t size)
    {
        constexpr std::size_t alignment = alignof(std::max_align_t);
        size = (size + alignment - 1) / alignment * alignment;
        if (size > kArenaBlockBytes / 4) {
            large_.push_back(std::make_unique<std::max_align_t[]>(size / alignment));
            return large_.back().get();
        }
        if (blocks_.empty() || used_ + size > kArenaBlockBytes) {
            if (!blocks_.empty()) ++current_;
            if (current_ == blocks_.size()) {
                blocks_.push_back(std::make_unique<std::max_align_t[]>(kArenaBlockBytes /
                                                                      alignment));
            }
            used_ = 0;
        }
        void* memory = reinterpret_cast<char*>(blocks_[current_].get()) + used_;
        used_ += size;
        return memory;
    }

    std::vector<std::unique_ptr<std::max_align_t[]>> blocks_;
    std::vector<std::unique_ptr<std::max_align_t[]>> large_;
    std::size_t current_ = 0;
    std::size_t used_ = 0;
};

GumboArena& thread_arena()
{
    thread_local GumboArena arena;
    return arena;
}

// Visible text under a node, bounded, whitespace runs as one space.
std::string visible_text(const GumboNode* node)
{
    std::string text;
    std::vector<const GumboNode*> stack{node};
    while (!stack.empty() && text.size() < kMaxLinkTextBytes) {
        const GumboNode* current = stack.back();
        stack.pop_back();
        if (current->type == GUMBO_NODE_TEXT || current->type == GUMBO_NODE_CDATA) {
            text += current->v.text.text;
            text += ' ';
            continue;
        }
        if (current->type != GUMBO_NODE_ELEMENT) continue;
        const GumboVector& children = current->v.element.children;
        for (unsigned i = children.length; i-- > 0;) {
            stack.push_back(static_cast<const GumboNode*>(children.data[i]));
        }
    }
    std::string collapsed;
    for (char c : text) {
        bool space = std::isspace(static_cast<unsigned char>(c)) != 0;
        if (space && (collapsed.empty() || collapsed.back() == ' ')) continue;
        collapsed += space ? ' ' : c;
    }
    while (!collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
    return collapsed.substr(0, kMaxLinkTextBytes);
}

const char* attribute(const GumboNode* node, const char* name)
{
    const GumboAttribute* found = gumbo_get_attribute(&node->v.element.attributes, name);
    return found ? found->value : nullptr;
}

// The link an element carries, if it is one of the linking elements.
void add_element_link(const GumboNode* node, std::vector<Link>& links)
{
    const char* href = nullptr;
    std::string source;
    std::string text;
    switch (node->v.element.tag) {
    case GUMBO_TAG_A:
        href = attribute(node, "href");
        source = "a";
        if (href) text = visible_text(node);
        break;
    case GUMBO_TAG_AREA:
        href = attribute(node, "href");
        source = "area";
        if (const char* alt = attribute(node, "alt")) text = alt;
        break;
    case GUMBO_TAG_FORM:
        href = attribute(node, "action");
        source = "form";
        break;
    case GUMBO_TAG_IMG:
        href = attribute(node, "src");
        source = "img";
        break;
    default:
        return;
    }
    if (href && links.size() < kMaxLinksPerMessage) {
        links.push_back({std::string(href).substr(0, kMaxUrlBytes), text.substr(0, 1024),
                         source});
    }
}

}  // namespace

// Scans for scheme-prefixed and www. links.
std::vector<Link> links_from_text(std::string_view text)
{
    std::vector<Link> links;
    for (std::size_t i = 0; i < text.size() && links.size() < kMaxLinksPerMessage; ++i) {
        // Setting bit 5 lowercases H, F and W and makes no other byte one of h, f, w: no
        // locale call per byte.
        char c = static_cast<char>(text[i] | 0x20);
        if (c != 'h' && c != 'f' && c != 'w') continue;
        std::size_t scheme_length = link_start(text, i);
        if (scheme_length == 0) continue;
        std::size_t end = link_end(text, i);
        if (end > i + scheme_length) links.push_back({std::string(text.substr(i, end - i)), {},
                                                      "text"});
        i = end;
    }
    return links;
}

// Parses the HTML (its prefix within the nesting bound) with gumbo, walking the tree with an
// explicit stack; the text nodes and whatever lies beyond the prefix go through the text
// scanner too.
std::vector<Link> links_from_html(std::string_view html)
{
    std::size_t parse_length = html_parse_length(html);
    GumboOptions options = kGumboDefaultOptions;
    options.max_errors = 0;  // its parse errors are not ours to keep
    bool in_arena = parse_length <= kMaxArenaHtmlBytes;
    GumboArena& arena = thread_arena();
    if (in_arena) {
        options.allocator = GumboArena::allocate;
        options.deallocator = GumboArena::deallocate;
        options.userdata = &arena;
    }
    GumboOutput* output = gumbo_parse_with_options(&options, html.data(), parse_length);

    std::vector<Link> links;
    std::string text;
    std::vector<const GumboNode*> stack{output->root};
    while (!stack.empty()) {
        const GumboNode* node = stack.back();
        stack.pop_back();
        if (node->type == GUMBO_NODE_TEXT && text.size() < kMaxHtmlTextBytes) {
            text += node->v.text.text;
            text += ' ';
            continue;
        }
        if (node->type != GUMBO_NODE_ELEMENT) continue;
        add_element_link(node, links);
        const GumboVector& children = node->v.element.children;
        for (unsigned i = children.length; i-- > 0;) {
            stack.push_back(static_cast<const GumboNode*>(children.data[i]));
        }
    }
    // In the arena, freeing the tree node by node would do nothing: the arena is emptied.
    if (in_arena) {
        arena.reset();
    } else {
        gumbo_destroy_output(&options, output);
    }

    for (auto& link : links_from_text(text)) links.push_back(std::move(link));
    for (auto& link : links_from_text(html.substr(parse_length))) links.push_back(std::move(link));
    if (links.size() > kMaxLinksPerMessage) links.resize(kMaxLinksPerMessage);
    return links;
}

std::vector<Link> links_from_walk(const mime::WalkResult& walk)
{
    std::vector<Link> links;
    for (const mime::Part& part : walk.parts) {
        if (part.text.empty() || links.size() >= kMaxLinksPerMessage) continue;
        bool html = part.content_type == "text/html";
        for (auto& link : html ? links_from_html(part.text) : links_from_text(part.text)) {
            if (links.size() >= kMaxLinksPerMessage) break;
            links.push_back(std::move(link));
        }
    }
    return links;
}

}  // namespace relaygate::checks
